using System.Collections.Concurrent;
using KvmUdevAgent.Core.Actions;

namespace KvmUdevAgent.Core.Tests.Actions;

public sealed class KeyedSerialQueueTests
{
    [Fact]
    public async Task Enqueue_SameKey_RunsInOrder()
    {
        await using var queue = new KeyedSerialQueue();
        var seen = new ConcurrentQueue<int>();
        for (int i = 0; i < 200; i++)
        {
            int n = i;
            queue.Enqueue("dev", async ct =>
            {
                if (n % 7 == 0)
                {
                    await Task.Yield();
                }

                seen.Enqueue(n);
            });
        }

        await queue.DrainAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Enumerable.Range(0, 200), seen);
    }

    [Fact]
    public async Task Enqueue_DifferentKeys_RunInParallel()
    {
        await using var queue = new KeyedSerialQueue();
        var blocker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var otherRan = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.Enqueue("slow", _ => blocker.Task);
        queue.Enqueue("fast", _ => { otherRan.SetResult(); return Task.CompletedTask; });
        await otherRan.Task.WaitAsync(TimeSpan.FromSeconds(10));
        blocker.SetResult();
        await queue.DrainAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, queue.BusyKeys);
    }

    [Fact]
    public async Task Enqueue_FailingItem_LaterItemsStillRun()
    {
        await using var queue = new KeyedSerialQueue();
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.Enqueue("dev", _ => throw new InvalidOperationException("boom"));
        queue.Enqueue("dev", _ => { ran.SetResult(); return Task.CompletedTask; });
        await ran.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Enqueue_CoalescingItemsBehindARunningOne_OnlyTheNewestRuns()
    {
        await using var queue = new KeyedSerialQueue();
        var blocker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = new ConcurrentQueue<int>();
        await BlockAsync(queue, blocker.Task);
        var outcomes = Enumerable.Range(1, 1000).Select(i => queue.Enqueue("dev", _ => { seen.Enqueue(i); return Task.CompletedTask; }, coalesce: true)).ToList();

        blocker.SetResult();
        await queue.DrainAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([1000], seen);
        Assert.Equal(EnqueueOutcome.Queued, outcomes[0]);
        Assert.All(outcomes.Skip(1), o => Assert.Equal(EnqueueOutcome.Coalesced, o));
        Assert.Equal(999, queue.Coalesced);
    }

    [Fact]
    public async Task Enqueue_CoalescingAfterAnOrdinaryItem_QueuedBehindIt()
    {
        await using var queue = new KeyedSerialQueue();
        var blocker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = new ConcurrentQueue<string>();
        Func<CancellationToken, Task> Record(string name) => _ => { seen.Enqueue(name); return Task.CompletedTask; };
        await BlockAsync(queue, blocker.Task);
        queue.Enqueue("dev", Record("change1"), coalesce: true);
        queue.Enqueue("dev", Record("remove"));
        queue.Enqueue("dev", Record("change2"), coalesce: true);
        queue.Enqueue("dev", Record("change3"), coalesce: true);

        blocker.SetResult();
        await queue.DrainAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["change1", "remove", "change3"], seen);
    }

    [Fact]
    public async Task Enqueue_MoreThanMaxPending_WaitingItemsDroppedAndTheOverflowItemRunsInstead()
    {
        var overflowed = new ConcurrentQueue<string>();
        await using var queue = new KeyedSerialQueue(maxPending: 4, overflow: key => _ => { overflowed.Enqueue(key); return Task.CompletedTask; });
        var blocker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = new ConcurrentQueue<int>();
        await BlockAsync(queue, blocker.Task);
        var outcomes = Enumerable.Range(1, 6).Select(i => queue.Enqueue("dev", _ => { seen.Enqueue(i); return Task.CompletedTask; })).ToList();

        blocker.SetResult();
        await queue.DrainAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([EnqueueOutcome.Queued, EnqueueOutcome.Queued, EnqueueOutcome.Queued, EnqueueOutcome.Queued, EnqueueOutcome.Overflowed, EnqueueOutcome.Queued], outcomes);
        Assert.Equal(["dev"], overflowed);
        Assert.Equal([6], seen);
        Assert.Equal(5, queue.Dropped);
    }

    [Fact]
    public async Task Enqueue_IdleKeyItemsThatCompleteAtOnce_RunOnTheCallersThreadInOrder()
    {
        await using var queue = new KeyedSerialQueue();
        var seen = new List<(string Key, int N, int Thread)>();
        for (int i = 0; i < 300; i++)
        {
            int n = i;
            string key = "dev" + (i % 3);
            Assert.Equal(EnqueueOutcome.Queued, queue.Enqueue(key, _ => { seen.Add((key, n, Environment.CurrentManagedThreadId)); return Task.CompletedTask; }));
            // Already run when Enqueue returns, and the key idle again.
            Assert.Equal(n, seen[^1].N);
            Assert.Equal(0, queue.BusyKeys);
        }

        Assert.All(seen, s => Assert.Equal(Environment.CurrentManagedThreadId, s.Thread));
        Assert.Equal(Enumerable.Range(0, 300), seen.Select(s => s.N));
    }

    [Fact]
    public async Task Enqueue_ItemQueuesItsOwnKeyWhileRunning_TheNewItemRunsAfterItNotInside()
    {
        await using var queue = new KeyedSerialQueue();
        var seen = new List<string>();
        queue.Enqueue("dev", _ =>
        {
            seen.Add("first begins");
            queue.Enqueue("dev", _ => { seen.Add("second"); return Task.CompletedTask; });
            seen.Add("first ends");
            return Task.CompletedTask;
        });

        await queue.DrainAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["first begins", "first ends", "second"], seen);
        Assert.Equal(0, queue.BusyKeys);
    }

    [Fact]
    public async Task Enqueue_MixOfItemsThatWaitAndThatDoNot_EachKeyInOrder()
    {
        await using var queue = new KeyedSerialQueue();
        var seen = new ConcurrentDictionary<string, ConcurrentQueue<int>>();
        var gates = new List<TaskCompletionSource>();
        for (int i = 0; i < 400; i++)
        {
            int n = i;
            string key = "dev" + (i % 4);
            TaskCompletionSource? gate = n % 9 == 0 ? new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) : null;
            if (gate is not null)
            {
                gates.Add(gate);
            }

            queue.Enqueue(key, async _ =>
            {
                if (gate is not null)
                {
                    await gate.Task;
                }

                seen.GetOrAdd(key, _ => new ConcurrentQueue<int>()).Enqueue(n);
            });
        }

        // Released out of order: each key's items still run in the order they were queued.
        gates.Reverse();
        foreach (TaskCompletionSource gate in gates)
        {
            gate.SetResult();
        }

        await queue.DrainAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        for (int k = 0; k < 4; k++)
        {
            Assert.Equal(Enumerable.Range(0, 400).Where(n => n % 4 == k), seen["dev" + k]);
        }

        Assert.Equal(0, queue.BusyKeys);
    }

    [Fact]
    public async Task Enqueue_MoreThanMaxPendingBehindAnItemRunningInlineOnAnotherThread_OverflowItemRunsAfterIt()
    {
        var seen = new ConcurrentQueue<string>();
        await using var queue = new KeyedSerialQueue(maxPending: 3, overflow: key => _ => { seen.Enqueue("overflow " + key); return Task.CompletedTask; });
        using var inline = InlineOnAnotherThread.Start(queue, ct => seen.Enqueue("blocking"));
        var outcomes = Enumerable.Range(1, 5).Select(i => queue.Enqueue("dev", _ => { seen.Enqueue("item " + i); return Task.CompletedTask; })).ToList();

        inline.Release();
        await queue.DrainAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([EnqueueOutcome.Queued, EnqueueOutcome.Queued, EnqueueOutcome.Queued, EnqueueOutcome.Overflowed, EnqueueOutcome.Queued], outcomes);
        Assert.Equal(["blocking", "overflow dev", "item 5"], seen);
        Assert.Equal(4, queue.Dropped);
        Assert.Equal(0, queue.BusyKeys);
    }

    [Fact]
    public async Task DrainAsync_WhileAnItemRunsInlineOnAnotherThread_WaitsForItAndWhatQueuedBehindIt()
    {
        await using var queue = new KeyedSerialQueue();
        var seen = new ConcurrentQueue<string>();
        using var inline = InlineOnAnotherThread.Start(queue, ct => seen.Enqueue("inline"));
        queue.Enqueue("dev", _ => { seen.Enqueue("behind"); return Task.CompletedTask; });

        Task drained = queue.DrainAsync(CancellationToken.None);
        // Not drained while the inline item runs: a drain that ends proves it wrong, one that waits proves nothing yet.
        Assert.False(drained.IsCompleted);
        inline.Release();
        await drained.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["inline", "behind"], seen);
    }

    [Fact]
    public async Task DisposeAsync_WhileAnItemRunsInlineOnAnotherThread_WaitsForItAndDropsWhatWaits()
    {
        var queue = new KeyedSerialQueue();
        var seen = new ConcurrentQueue<string>();
        using var inline = InlineOnAnotherThread.Start(queue, ct => seen.Enqueue(ct.IsCancellationRequested ? "inline, cancelled" : "inline"));
        queue.Enqueue("dev", _ => { seen.Enqueue("behind"); return Task.CompletedTask; });

        Task disposed = queue.DisposeAsync().AsTask();
        Assert.False(disposed.IsCompleted);
        inline.Release();
        await disposed.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["inline, cancelled"], seen);
    }

    // Runs an item on "dev" that lasts until blocker completes, and returns once it is running
    // (taken off the queue: what is enqueued next waits behind it).
    private static async Task BlockAsync(KeyedSerialQueue queue, Task blocker)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.Enqueue("dev", _ =>
        {
            started.SetResult();
            return blocker;
        });
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// An item on "dev" queued from a thread of its own, that blocks that thread (no await) until
    /// released: it runs inline there, and <see cref="Start"/> returns once it is running.
    /// </summary>
    private sealed class InlineOnAnotherThread : IDisposable
    {
        private readonly ManualResetEventSlim _running = new();
        private readonly ManualResetEventSlim _release = new();
        private readonly Thread _thread;

        private InlineOnAnotherThread(KeyedSerialQueue queue, Action<CancellationToken> done)
        {
            _thread = new Thread(() => queue.Enqueue("dev", ct =>
            {
                _running.Set();
                _release.Wait(TimeSpan.FromSeconds(30), CancellationToken.None);
                done(ct);
                return Task.CompletedTask;
            }));
        }

        public static InlineOnAnotherThread Start(KeyedSerialQueue queue, Action<CancellationToken> done)
        {
            var inline = new InlineOnAnotherThread(queue, done);
            inline._thread.Start();
            Assert.True(inline._running.Wait(TimeSpan.FromSeconds(10)));
            return inline;
        }

        /// <summary>Lets the item finish, and waits until its thread is done.</summary>
        public void Release()
        {
            _release.Set();
            Assert.True(_thread.Join(TimeSpan.FromSeconds(10)));
        }

        public void Dispose()
        {
            _release.Set();
            _thread.Join(TimeSpan.FromSeconds(10));
            _running.Dispose();
            _release.Dispose();
        }
    }
}
