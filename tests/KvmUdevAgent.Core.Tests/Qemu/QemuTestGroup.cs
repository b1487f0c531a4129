namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>
/// The QEMU-backed test classes run one after the other: the machine has two cores shared with
/// other work, and a paused TCG QEMU is cheap only while few run at once.
/// </summary>
[CollectionDefinition(Name)]
public sealed class QemuTestGroup
{
    public const string Name = "qemu";
}
