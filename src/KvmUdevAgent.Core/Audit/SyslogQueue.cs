using System.Net.Sockets;
using System.Threading.Channels;

namespace KvmUdevAgent.Core.Audit;

/// <summary>
/// A bounded queue in front of one syslog transport, drained by one background task, so that a
/// slow or dead syslog never blocks the caller. Policy: <b>drop newest</b> — when the queue is
/// full, the message being written is dropped and counted. Accepted messages are delivered in
/// order, so an outage keeps its first records (the ones that say what went wrong first; with
/// drop-oldest those would be the ones lost) and loses later ones, except where the worker frees a
/// slot; how many were lost is reported by the next delivered <c>dropped</c> notice (if
/// configured) and by <see cref="Status"/>.
/// A failed send is retried (same message, reconnecting) with exponential backoff, so messages
/// queued while syslog is down arrive when it comes back, up to the queue's capacity.
/// Disposal (the agent stopping) is bounded: what is queued gets <see cref="DefaultDrainTimeout"/>
/// to go out, and the first failed send while draining ends the drain at once, since retrying a
/// dead syslog cannot succeed in the time a stop may take; the rest is counted as dropped.
/// </summary>
internal sealed class SyslogQueue : IAsyncDisposable, IDisposable
{
    public const int DefaultCapacity = 4096;

    /// <summary>
    /// How long disposal waits for queued messages to go out. Short on purpose: systemd's stop,
    /// a test's SIGTERM and an administrator's Ctrl-C should not wait on syslog.
    /// </summary>
    public static readonly TimeSpan DefaultDrainTimeout = TimeSpan.FromMilliseconds(250);

    private readonly Channel<SyslogMessage> _channel;
    private readonly ISyslogTransport _transport;
    private readonly Rfc5424Formatter _formatter;
    private readonly Func<long, SyslogMessage>? _dropNotice;
    private readonly TimeSpan _minBackoff;
    private readonly TimeSpan _maxBackoff;
    private readonly TimeSpan _drainTimeout;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _worker;
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _enqueued;
    private long _sent;
    private long _dropped;
    private long _dropReported;
    private long _sendFailures;
    private int _inFlight;
    private string? _lastError;
    private int _disposed;
    private int _draining;
    private int _failing;

    /// <summary><c>dropNotice</c> makes the message that reports how many were dropped since the last notice; null sends none.</summary>
    public SyslogQueue(
        ISyslogTransport transport,
        Rfc5424Formatter formatter,
        string target,
        int capacity = DefaultCapacity,
        Func<long, SyslogMessage>? dropNotice = null,
        TimeSpan? minBackoff = null,
        TimeSpan? maxBackoff = null,
        TimeSpan? drainTimeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _transport = transport;
        _formatter = formatter;
        Target = target;
        Capacity = capacity;
        _dropNotice = dropNotice;
        _minBackoff = minBackoff ?? TimeSpan.FromMilliseconds(50);
        _maxBackoff = maxBackoff ?? TimeSpan.FromSeconds(5);
        _drainTimeout = drainTimeout ?? DefaultDrainTimeout;
        _channel = Channel.CreateBounded<SyslogMessage>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true, SingleWriter = false },
            _ => Interlocked.Increment(ref _dropped));
        _worker = Task.Run(() => RunAsync(_stopping.Token));
    }

    /// <summary>The endpoint, for status output.</summary>
    public string Target { get; }

    public int Capacity { get; }

    public SyslogQueueStatus Status => new(
        Target,
        Interlocked.Read(ref _enqueued),
        Interlocked.Read(ref _sent),
        Interlocked.Read(ref _dropped),
        Interlocked.Read(ref _sendFailures),
        _channel.Reader.Count + Volatile.Read(ref _inFlight),
        Volatile.Read(ref _lastError));

    /// <summary>Queues a message; never blocks. A full or disposed queue drops it and counts it.</summary>
    public void Enqueue(SyslogMessage message)
    {
        Interlocked.Increment(ref _enqueued);
        if (Volatile.Read(ref _disposed) != 0 || !_channel.Writer.TryWrite(message))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Waits until everything queued so far was delivered or dropped; false on timeout.</summary>
    public async Task<bool> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            Task progress = Volatile.Read(ref _progress).Task;
            if (_channel.Reader.Count == 0 && Volatile.Read(ref _inFlight) == 0)
            {
                return true;
            }

            long left = deadline - Environment.TickCount64;
            if (left <= 0 || _worker.IsCompleted)
            {
                return false;
            }

            try
            {
                await progress.WaitAsync(TimeSpan.FromMilliseconds(left), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return false;
            }
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        ChannelReader<SyslogMessage> reader = _channel.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                Volatile.Write(ref _inFlight, 1);
                if (reader.TryRead(out SyslogMessage? message))
                {
                    await SendOrDropAsync(message, cancellationToken).ConfigureAwait(false);
                    long dropped = Interlocked.Read(ref _dropped);
                    if (_dropNotice is not null && dropped > _dropReported && _lastError is null)
                    {
                        long count = dropped - _dropReported;
                        _dropReported = dropped;
                        await SendOrDropAsync(_dropNotice(count), cancellationToken).ConfigureAwait(false);
                    }
                }

                Volatile.Write(ref _inFlight, 0);
                Interlocked.Exchange(ref _progress, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Disposal ran out of drain time; what is left is counted as dropped by DisposeAsync.
        }
    }

    /// <summary>Never lets one bad message end the worker: anything unexpected drops that message, counted.</summary>
    private async Task SendOrDropAsync(SyslogMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Interlocked.Increment(ref _dropped);
            Volatile.Write(ref _lastError, ex.Message);
        }
    }

    private async Task SendAsync(SyslogMessage message, CancellationToken cancellationToken)
    {
        byte[] bytes = _formatter.Format(message, _transport.MaxMessageBytes);
        TimeSpan backoff = _minBackoff;
        while (true)
        {
            try
            {
                await _transport.SendAsync(bytes, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _sent);
                Volatile.Write(ref _lastError, null);
                Volatile.Write(ref _failing, 0);
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.MessageSize)
            {
                // Retrying cannot help: the receiver's limit is below ours. Count and move on.
                Interlocked.Increment(ref _dropped);
                Volatile.Write(ref _lastError, ex.Message);
                return;
            }
            catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
            {
                Interlocked.Increment(ref _sendFailures);
                Volatile.Write(ref _lastError, ex.Message);
                Volatile.Write(ref _failing, 1);
                if (Volatile.Read(ref _draining) != 0)
                {
                    // Stopping, and syslog does not take messages: give up on the drain now
                    // (DisposeAsync counts this message and the rest as dropped).
                    await _stopping.CancelAsync().ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }

            await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _maxBackoff.Ticks));
        }
    }

    /// <summary>Stops taking messages, delivers what is queued for up to the drain timeout, then gives up, counting the rest as dropped.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _channel.Writer.TryComplete();
        Volatile.Write(ref _draining, 1);
        if (Volatile.Read(ref _failing) != 0)
        {
            // The last send failed and the worker is waiting to retry: nothing will go out in time.
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        if (await Task.WhenAny(_worker, Task.Delay(_drainTimeout)).ConfigureAwait(false) != _worker)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            await _worker.ConfigureAwait(false);
        }

        long left = Volatile.Read(ref _inFlight);
        while (_channel.Reader.TryRead(out _))
        {
            left++;
        }

        Interlocked.Add(ref _dropped, left);
        Volatile.Write(ref _inFlight, 0);
        _transport.Dispose();
        _stopping.Dispose();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
