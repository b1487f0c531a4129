namespace KvmUdevAgent.Core.Libvirt;

/// <summary>libvirt's <c>virDomainState</c>, with the values the agent distinguishes.</summary>
internal enum DomainState
{
    Unknown = 0,
    Running = 1,
    Blocked = 2,
    Paused = 3,
    ShuttingDown = 4,
    ShutOff = 5,
    Crashed = 6,
    PmSuspended = 7,
}
