using System.Runtime.CompilerServices;

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

    // Empty waiting lists kept for the next key that becomes busy (a busy key per event otherwise costs one).
    private const int MaxSpareLists = 64;
    private static readonly Func<object?, CancellationToken, Task> s_plain = static (work, cancellationToken) => ((Func<CancellationToken, Task>)work!)(cancellationToken);

    // A busy key's items waiting behind the running one; the running item is not in it.
    private readonly Dictionary<string, LinkedList<Item>> _pending = new(StringComparer.Ordinal);
    private readonly Stack<LinkedList<Item>> _spare = new();
    private readonly HashSet<Task> _workers = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly int _maxPending;
    private readonly Func<string, Func<CancellationToken, Task>>? _overflow;
    private long _coalesced;
    private long _dropped;
    private int _disposed;
    // Keys whose items run on the thread that queued them (guarded by _pending), and what DrainAsync
    // and DisposeAsync wait on while there are any (made only when one of them asks).
    private int _inline;
    private TaskCompletionSource? _inlineDone;

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
    public EnqueueOutcome Enqueue(string key, Func<CancellationToken, Task> work, bool coalesce = false) =>
        Enqueue(key, s_plain, work, coalesce);

    /// <summary>
    /// <see cref="Enqueue(string, Func{CancellationToken, Task}, bool)"/> with the item's state passed to
    /// <paramref name="work"/>: a caller that queues per event needs no closure per event.
    /// </summary>
    public EnqueueOutcome Enqueue(string key, Func<object?, CancellationToken, Task> work, object? state, bool coalesce = false)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var item = new Item(work, state, coalesce);
        LinkedList<Item>? queue;
        lock (_pending)
        {
            if (_pending.TryGetValue(key, out queue))
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
                        queue.AddLast(new Item(s_plain, _overflow(key), Coalesces: false));
                    }

                    return EnqueueOutcome.Overflowed;
                }

                queue.AddLast(item);
                return EnqueueOutcome.Queued;
            }

            queue = _spare.Count > 0 ? _spare.Pop() : new LinkedList<Item>();
            _pending.Add(key, queue);
            _inline++;
        }

        // An idle key runs its item inline, on the caller's thread, up to the item's first wait
        // (issue 15: a hop to the thread pool per event and per plan was plug latency), and the items
        // queued meanwhile after it while each completes at once: no task of ours unless one waits.
        // What comes after that wait runs where the awaited operation completes; later items of the
        // key, queued meanwhile, run after it in order.
        RunInline(key, queue, item);
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
                workers = Running();
            }

            if (workers.Length == 0)
            {
                return;
            }

            await Task.WhenAll(workers).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void RunInline(string key, LinkedList<Item> queue, Item item)
    {
        Task? worker = null;
        try
        {
            if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            {
                // Items that queue items of idle keys inline, deep enough: the rest goes to the thread pool.
                worker = RunOnThreadPool(key, queue, item);
                return;
            }

            while (true)
            {
                Task running = Start(item);
                if (!running.IsCompleted)
                {
                    worker = ContinueAsync(key, queue, running);
                    return;
                }

                Settle(running);
                if (!TryTakeNext(key, queue, out item))
                {
                    return;
                }
            }
        }
        finally
        {
            lock (_pending)
            {
                // Registered before the inline run counts as over, so that DrainAsync sees one or the other.
                if (worker is { IsCompleted: false })
                {
                    _workers.Add(worker);
                    _ = worker.ContinueWith(
                        static (t, state) =>
                        {
                            var self = (KeyedSerialQueue)state!;
                            lock (self._pending)
                            {
                                self._workers.Remove(t);
                            }
                        },
                        this,
                        CancellationToken.None,
                        TaskContinuationOptions.ExecuteSynchronously,
                        TaskScheduler.Default);
                }

                if (--_inline == 0 && _inlineDone is { } done)
                {
                    _inlineDone = null;
                    done.SetResult();
                }
            }
        }
    }

    // The key's worker once an item waits: that item, then the rest of the key's items in order.
    private async Task ContinueAsync(string key, LinkedList<Item> queue, Task running)
    {
        await SettleAsync(running).ConfigureAwait(false);
        while (TryTakeNext(key, queue, out Item item))
        {
            await SettleAsync(Start(item)).ConfigureAwait(false);
        }
    }

    // Apart, so that RunInline's parameters are not captured (a closure made on every call).
    private Task RunOnThreadPool(string key, LinkedList<Item> queue, Item first) => Task.Run(() => RunFromAsync(key, queue, first));

    private async Task RunFromAsync(string key, LinkedList<Item> queue, Item first)
    {
        Item item = first;
        do
        {
            await SettleAsync(Start(item)).ConfigureAwait(false);
        }
        while (TryTakeNext(key, queue, out item));
    }

    /// <summary>The key's next waiting item; when there is none, the key is idle from now on.</summary>
    private bool TryTakeNext(string key, LinkedList<Item> queue, out Item item)
    {
        lock (_pending)
        {
            if (queue.First is not { } first)
            {
                _pending.Remove(key);
                if (_spare.Count < MaxSpareLists)
                {
                    _spare.Push(queue);
                }

                item = default;
                return false;
            }

            item = first.Value;
            queue.RemoveFirst();
            return true;
        }
    }

    // A work item's failure is its own to report; the key's later items still run. Shutting down,
    // the remaining items are abandoned (DisposeAsync empties the queues).
    private Task Start(Item item)
    {
        try
        {
            return item.Work(item.State, _stopping.Token);
        }
#pragma warning disable CA1031 // See above.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return Task.FromException(e);
        }
    }

    private static void Settle(Task completed) => _ = completed.Exception;

    private static async Task SettleAsync(Task running)
    {
        try
        {
            await running.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // See Start.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    // What is running now (guarded by _pending): the workers, and the inline runs as one task.
    private Task[] Running()
    {
        if (_inline == 0)
        {
            return [.. _workers];
        }

        _inlineDone ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return [.. _workers, _inlineDone.Task];
    }

    /// <summary>Cancels running items and waits for the workers to stop.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        while (true)
        {
            Task[] workers;
            lock (_pending)
            {
                foreach (LinkedList<Item> queue in _pending.Values)
                {
                    queue.Clear();
                }

                workers = Running();
            }

            if (workers.Length == 0)
            {
                break;
            }

            await Task.WhenAll(workers).ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private readonly record struct Item(Func<object?, CancellationToken, Task> Work, object? State, bool Coalesces);
}
