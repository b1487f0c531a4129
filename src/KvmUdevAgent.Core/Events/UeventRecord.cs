namespace KvmUdevAgent.Core.Events;

/// <summary>One event read back from a record file.</summary>
/// <param name="Source">Where the event originally came from (<see cref="UeventSource.Unknown"/> when the record did not say).</param>
/// <param name="Time">When it was received, wall clock; null when the record did not say.</param>
/// <param name="Event">The event, with <see cref="Uevent.Source"/> = <see cref="UeventSource.Replay"/> and the recorded coldplug flag.</param>
public sealed record UeventRecord(UeventSource Source, DateTimeOffset? Time, Uevent Event);
