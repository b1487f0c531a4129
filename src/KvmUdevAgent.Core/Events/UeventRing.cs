using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// The bounded ring between a source's receive loop (the one writer, which only ever tries to write)
/// and its consumer. A consumer waiting on an empty ring is resumed on the thread pool, as with any
/// channel, except when the writer says the event may run the reader (<see cref="TryWrite"/>): then it
/// resumes on the writer's thread, inside the write, and the wake-up of another thread is saved
/// (issue 15: the first event after a quiet spell reaches the pipeline without a thread hop).
/// </summary>
/// <remarks>
/// The consumer then runs on the receive loop's thread up to its next wait for the ring (or any other
/// wait), so it must do nothing there that blocks; the loop goes back to the socket when it returns.
/// Completion, cancellation and failure always resume the consumer on the thread pool.
/// </remarks>
internal sealed class UeventRing : ChannelReader<Uevent>
{
    private readonly Channel<Uevent> _channel;
    private int _inlineThreadId;

    public UeventRing(int capacity)
    {
        // Synchronous continuations let a write resume a waiting reader on the writer's thread;
        // WaitToReadAsync below moves it to the thread pool unless the write allowed it.
        _channel = Channel.CreateBounded<Uevent>(new BoundedChannelOptions(capacity)
        {
            SingleWriter = true,
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = true,
        });
    }

    public override Task Completion => _channel.Reader.Completion;

    public override bool CanCount => true;

    public override bool CanPeek => true;

    public override int Count => _channel.Reader.Count;

    /// <summary>
    /// Adds <paramref name="uevent"/> unless the ring is full; never waits. With
    /// <paramref name="mayRunReader"/>, a consumer waiting on the empty ring runs on this thread before this returns.
    /// </summary>
    public bool TryWrite(Uevent uevent, bool mayRunReader)
    {
        if (!mayRunReader)
        {
            return _channel.Writer.TryWrite(uevent);
        }

        _inlineThreadId = Environment.CurrentManagedThreadId;
        try
        {
            return _channel.Writer.TryWrite(uevent);
        }
        finally
        {
            _inlineThreadId = 0;
        }
    }

    /// <summary>Ends the stream, with <paramref name="failure"/> if one stopped it.</summary>
    public bool TryComplete(Exception? failure) => _channel.Writer.TryComplete(failure);

    public override bool TryRead([MaybeNullWhen(false)] out Uevent item) => _channel.Reader.TryRead(out item);

    public override bool TryPeek([MaybeNullWhen(false)] out Uevent item) => _channel.Reader.TryPeek(out item);

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        ValueTask<bool> wait = _channel.Reader.WaitToReadAsync(cancellationToken);
        return wait.IsCompletedSuccessfully ? wait : WaitAsync(wait);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WaitAsync(ValueTask<bool> wait)
    {
        bool available;
        try
        {
            available = await wait.ConfigureAwait(false);
        }
        catch
        {
            await Task.Yield();
            throw;
        }

        if (!available || _inlineThreadId != Environment.CurrentManagedThreadId)
        {
            // Not resumed by a write that allowed it: continue on the thread pool, as a plain channel would.
            await Task.Yield();
        }

        return available;
    }
}
