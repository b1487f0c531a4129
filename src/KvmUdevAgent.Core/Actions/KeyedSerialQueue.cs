namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// Runs work items of one key strictly in order, and items of different keys in parallel.
/// Each busy key has one worker draining its own queue; an idle key costs nothing. A failing
/// item does not stop the items after it (the work item reports its own failure).
/// </summary>
internal sealed class KeyedSerialQueue : IAsyncDisposable
{
    private readonly Dictionary<string, Queue<Func<CancellationToken, Task>>> _pending = new(StringComparer.Ordinal);
    private readonly HashSet<Task> _workers = [];
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    /// <summary>Number of keys with work queued or running.</summary>
    public int BusyKeys
    {
        get
        {
            lock (_pending)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Queues <paramref name="work"/> after everything already queued for <paramref name="key"/>.</summary>
    public void Enqueue(string key, Func<CancellationToken, Task> work)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        lock (_pending)
        {
            if (_pending.TryGetValue(key, out var queue))
            {
                queue.Enqueue(work);
                return;
            }

            queue = new Queue<Func<CancellationToken, Task>>();
            queue.Enqueue(work);
            _pending.Add(key, queue);
            Task worker = Task.Run(() => DrainAsync(key, queue));
            _workers.Add(worker);
            _ = worker.ContinueWith(
                t =>
                {
                    lock (_pending)
                    {
                        _workers.Remove(t);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    /// <summary>Completes when every item queued so far has run, or <paramref name="cancellationToken"/> fires.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task[] workers;
            lock (_pending)
            {
                workers = [.. _workers];
            }

            if (workers.Length == 0)
            {
                return;
            }

            await Task.WhenAll(workers).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task DrainAsync(string key, Queue<Func<CancellationToken, Task>> queue)
    {
        while (true)
        {
            Func<CancellationToken, Task> work;
            lock (_pending)
            {
                if (!queue.TryDequeue(out work!))
                {
                    _pending.Remove(key);
                    return;
                }
            }

            try
            {
                await work(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                // Shutting down: the remaining items are abandoned below.
            }
#pragma warning disable CA1031 // A work item's failure is its own to report; the key's later items still run.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    /// <summary>Cancels running items and waits for the workers to stop.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        Task[] workers;
        lock (_pending)
        {
            foreach (var queue in _pending.Values)
            {
                queue.Clear();
            }

            workers = [.. _workers];
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        _stopping.Dispose();
    }
}
