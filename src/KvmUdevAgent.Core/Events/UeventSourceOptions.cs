namespace KvmUdevAgent.Core.Events;

/// <summary>How to open a uevent source.</summary>
public sealed record UeventSourceOptions
{
    /// <summary>
    /// Requested socket receive buffer in bytes (<c>SO_RCVBUFFORCE</c> as root, else <c>SO_RCVBUF</c>
    /// capped by <c>net.core.rmem_max</c>; the kernel doubles it). 0 keeps the system default. Default 16 MiB.
    /// </summary>
    public int ReceiveBufferBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// Events the ring between the receive loop and the consumer holds; when it is full the loop drops
    /// events and signals a <see cref="UeventOverflowKind.RingOverflow"/> rather than stop reading the
    /// socket. Memory is taken only while a backlog exists. Default 131,072.
    /// </summary>
    public int Capacity { get; init; } = 128 * 1024;

    /// <summary>systemd-udevd's control socket; when it exists, <c>auto</c> means udev. Default <c>/run/udev/control</c>.</summary>
    public string UdevControlPath { get; init; } = "/run/udev/control";
}
