namespace KvmUdevAgent.Core;

/// <summary>
/// Event ids of the diagnostic log, one range per feature. Each feature declares its ids in its
/// own part of this class (<c>Feature/LogEvents.Feature.cs</c>) so the ranges never collide:
/// Events 1000, Devices 2000, Rules 3000, Qemu 4000, Actions 5000, State 6000, Audit 7000,
/// Control 8000, Configuration 8500, host 9000.
/// </summary>
internal static partial class LogEvents
{
}
