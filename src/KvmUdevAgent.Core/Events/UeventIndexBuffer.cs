using System.Buffers;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// Room for one datagram's index (<see cref="UeventParser.TryIndex"/>'s <c>bounds</c>): the caller's stack
/// span when it holds <see cref="UeventParser.MaxBounds"/> entries, else an array from the shared pool,
/// given back by <see cref="Dispose"/>.
/// </summary>
internal ref struct UeventIndexBuffer
{
    private int[]? _rented;

    public UeventIndexBuffer(int datagramLength, Span<int> stack)
    {
        int most = UeventParser.MaxBounds(datagramLength);
        if (most <= stack.Length)
        {
            Span = stack;
        }
        else
        {
            _rented = ArrayPool<int>.Shared.Rent(most);
            Span = _rented;
        }
    }

    public Span<int> Span { get; }

    public void Dispose()
    {
        if (_rented is not null)
        {
            ArrayPool<int>.Shared.Return(_rented);
            _rented = null;
        }
    }
}
