namespace KvmUdevAgent.Core.Events;

/// <summary>A dropped datagram, as reported on <see cref="IUeventSource.Rejects"/> for the audit trail.</summary>
/// <param name="Source">The source that dropped it.</param>
/// <param name="Reason">Why it was dropped.</param>
/// <param name="Length">Its length in bytes.</param>
/// <param name="SenderPid">The sender's netlink port id (0 for the kernel).</param>
/// <param name="Uid">The sender's uid from <c>SCM_CREDENTIALS</c>, or <see cref="uint.MaxValue"/> when none came.</param>
/// <param name="Timestamp"><see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> when it was received.</param>
public sealed record UeventReject(UeventSource Source, RejectReason Reason, int Length, uint SenderPid, uint Uid, long Timestamp);
