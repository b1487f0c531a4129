namespace KvmUdevAgent.Core.Actions;

/// <summary>What <see cref="KeyedSerialQueue.Enqueue(string, Func{CancellationToken, Task}, bool)"/> did with an item.</summary>
internal enum EnqueueOutcome
{
    /// <summary>Queued after the key's other items.</summary>
    Queued,

    /// <summary>Took the place of an older coalescing item still waiting.</summary>
    Coalesced,

    /// <summary>The key's queue was full: its waiting items and this one were dropped.</summary>
    Overflowed,
}
