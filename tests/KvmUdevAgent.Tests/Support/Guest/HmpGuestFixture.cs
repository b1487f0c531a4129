using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Tests.Support.Guest;

/// <summary>A test guest whose QEMU the agent drives over HMP only (the seed's kind of VM).</summary>
public sealed class HmpGuestFixture() : GuestFixture(MonitorProtocol.Hmp);
