namespace KvmUdevAgent.Core.Events;

/// <summary>A lost-event signal: the consumer should resynchronise from sysfs.</summary>
/// <param name="Source">The source that lost events.</param>
/// <param name="Kind">How the loss was detected.</param>
/// <param name="MissingEvents">For <see cref="UeventOverflowKind.SequenceGap"/>, how many numbers were skipped; 0 when unknown.</param>
/// <param name="Timestamp"><see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> when it was detected.</param>
/// <param name="AcceptedBefore">
/// Events the source had handed on (<see cref="UeventSourceCounters.Accepted"/>) when it signalled: the
/// resync must wait until the consumer has taken that many, or its snapshot would be overtaken by them.
/// </param>
public sealed record UeventOverflow(UeventSource Source, UeventOverflowKind Kind, ulong MissingEvents, long Timestamp, long AcceptedBefore = 0);
