namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// Runs work items of one key strictly in order, and items of different keys in parallel.
/// Each busy key has one worker draining its own queue; an idle key costs nothing, and the item
/// that makes it busy starts at once on the caller's thread. A failing item does not stop the
/// items after it (the work item reports its own failure).
/// </summary>
/// <remarks>
/// Each key's queue is bounded (issue 17: 100,000 <c>change</c> events for one device queued behind
/// its running hook took the daemon from 22 to 209 MB). An item marked to coalesce replaces a
/// coalescing item still waiting at the tail of its key's queue: only the newest matters. When a
/// key has <c>maxPending</c> items waiting, they are dropped, the new one too, and the one item
/// <c>overflow</c> makes for the key takes their place (the caller's way to find out afresh what
/// the dropped items were about).
/// </remarks>
internal sealed class KeyedSerialQueue : IAsyncDisposable
{
    /// <summary>Items one key may have waiting, the running one not counted.</summary>
    public const int DefaultMaxPending = 256;

    private readonly Dictionary<string, LinkedList<Item>> _pending = new(StringComparer.Ordinal);
    private readonly HashSet<Task> _workers = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly int _maxPending;
    private readonly Func<string, Func<CancellationToken, Task>>? _overflow;
    private long _coalesced;
    private long _dropped;
    private int _disposed;

    /// <param name="maxPending">Items one key may have waiting.</param>
    /// <param name="overflow">Makes the item that replaces a key's dropped items; null drops them with nothing in their place.</param>
    public KeyedSerialQueue(int maxPending = DefaultMaxPending, Func<string, Func<CancellationToken, Task>>? overflow = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPending, 1);
        _maxPending = maxPending;
        _overflow = overflow;
    }

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

    /// <summary>Items replaced by a newer coalescing item of the same key.</summary>
    public long Coalesced => Interlocked.Read(ref _coalesced);

    /// <summary>Items dropped because their key's queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Queues <paramref name="work"/> after everything already queued for <paramref name="key"/>,
    /// or in place of a coalescing item waiting at the tail when <paramref name="coalesce"/> is set.
    /// </summary>
    public EnqueueOutcome Enqueue(string key, Func<CancellationToken, Task> work, bool coalesce = false)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var item = new Item(work, coalesce);
        Task<Task> worker;
        lock (_pending)
        {
            if (_pending.TryGetValue(key, out LinkedList<Item>? queue))
            {
                if (coalesce && queue.Last is { Value.Coalesces: true } last)
                {
                    last.Value = item;
                    Interlocked.Increment(ref _coalesced);
                    return EnqueueOutcome.Coalesced;
                }

                if (queue.Count >= _maxPending)
                {
                    Interlocked.Add(ref _dropped, queue.Count + 1);
                    queue.Clear();
                    if (_overflow is not null)
                    {
                        queue.AddLast(new Item(_overflow(key), Coalesces: false));
                    }

                    return EnqueueOutcome.Overflowed;
                }

                queue.AddLast(item);
                return EnqueueOutcome.Queued;
            }

            queue = new LinkedList<Item>();
            queue.AddLast(item);
            _pending.Add(key, queue);
            // Registered before it runs, so that DrainAsync sees it from now on.
            worker = new Task<Task>(() => DrainAsync(key, queue));
            Task draining = worker.Unwrap();
            _workers.Add(draining);
            _ = draining.ContinueWith(
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

        // An idle key runs its item inline, on the caller's thread, up to the item's first wait
        // (issue 15: a hop to the thread pool per event and per plan was plug latency). What comes
        // after that wait runs where the awaited operation completes; later items of the key, queued
        // meanwhile, run after it in order.
        worker.RunSynchronously(TaskScheduler.Default);
        return EnqueueOutcome.Queued;
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

    private async Task DrainAsync(string key, LinkedList<Item> queue)
    {
        while (true)
        {
            Item item;
            lock (_pending)
            {
                if (queue.First is not { } first)
                {
                    _pending.Remove(key);
                    return;
                }

                item = first.Value;
                queue.RemoveFirst();
            }

            try
            {
                await item.Work(_stopping.Token).ConfigureAwait(false);
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
            foreach (LinkedList<Item> queue in _pending.Values)
            {
                queue.Clear();
            }

            workers = [.. _workers];
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private readonly record struct Item(Func<CancellationToken, Task> Work, bool Coalesces);
}
