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
}
