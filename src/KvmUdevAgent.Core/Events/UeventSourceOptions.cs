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
    /// socket. The events wait as bytes in a mapping of 2 KiB per event (at least 1 MiB, at most 1 GiB;
    /// the ring is also full when that is), whose pages are taken only while a backlog exists and given
    /// back after it. Default 131,072 (256 MiB of address space).
    /// </summary>
    public int Capacity { get; init; } = 128 * 1024;

    /// <summary>
    /// When the consumer waits on an empty <see cref="IUeventSource.Events"/> and the first event after a
    /// quiet spell arrives, resume it on the receive loop's thread instead of waking a thread pool thread
    /// (one thread wake-up fewer, issue 15). Only for a consumer that never blocks between two waits for
    /// events (the daemon's pipeline: whatever may block runs aside); the loop reads the socket again when
    /// it gets its thread back. A busy consumer is never resumed there. Default false.
    /// </summary>
    public bool ResumeIdleReaderInline { get; init; }

    /// <summary>systemd-udevd's control socket; when it exists, <c>auto</c> means udev. Default <c>/run/udev/control</c>.</summary>
    public string UdevControlPath { get; init; } = "/run/udev/control";
}
