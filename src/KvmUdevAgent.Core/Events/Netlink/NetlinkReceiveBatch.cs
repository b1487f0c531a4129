using System.Runtime.InteropServices;

namespace KvmUdevAgent.Core.Events.Netlink;

/// <summary>
/// Room for up to <see cref="Capacity"/> datagrams of up to <see cref="DatagramBytes"/> each, for one
/// <see cref="NetlinkSocket.TryReceive(NetlinkReceiveBatch)"/> (<c>recvmmsg</c>), and what it received.
/// The room is native memory, never zeroed: only the pages the kernel writes are resident (the first
/// of each slot for an ordinary uevent), not <see cref="Capacity"/> times the largest datagram. One thread.
/// </summary>
internal sealed unsafe class NetlinkReceiveBatch : IDisposable
{
    private byte* _room;

    public NetlinkReceiveBatch(int capacity, int datagramBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(datagramBytes, 1);
        Capacity = capacity;
        DatagramBytes = datagramBytes;
        Results = new NetlinkReceiveResult[capacity];
        _room = (byte*)NativeMemory.Alloc((nuint)capacity * (nuint)datagramBytes);
    }

    /// <summary>How many datagrams one receive may take.</summary>
    public int Capacity { get; }

    /// <summary>The largest datagram a slot holds; a longer one is received truncated, and says so.</summary>
    public int DatagramBytes { get; }

    /// <summary>What the last receive took, in arrival order: the first <c>n</c> it returned are valid.</summary>
    public NetlinkReceiveResult[] Results { get; }

    /// <summary>Slot <paramref name="index"/>'s memory, <see cref="DatagramBytes"/> long.</summary>
    internal byte* Slot(int index)
    {
        ObjectDisposedException.ThrowIf(_room is null, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Capacity, nameof(index));
        return _room + ((nint)index * DatagramBytes);
    }

    /// <summary>The bytes received into slot <paramref name="index"/> by the last receive.</summary>
    public ReadOnlySpan<byte> Datagram(int index) => new(Slot(index), Results[index].Length);

    public void Dispose()
    {
        NativeMemory.Free(_room);
        _room = null;
    }
}
