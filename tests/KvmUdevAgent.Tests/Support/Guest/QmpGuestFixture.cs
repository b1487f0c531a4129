using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Tests.Support.Guest;

/// <summary>A test guest whose QEMU the agent drives over QMP.</summary>
public sealed class QmpGuestFixture() : GuestFixture(MonitorProtocol.Qmp);
