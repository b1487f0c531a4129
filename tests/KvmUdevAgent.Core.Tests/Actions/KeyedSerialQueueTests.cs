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
}
