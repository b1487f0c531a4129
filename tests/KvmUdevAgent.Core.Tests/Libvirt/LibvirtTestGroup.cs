namespace KvmUdevAgent.Core.Tests.Libvirt;

/// <summary>The tests against the private libvirtd share it (its first start probes QEMU's capabilities for seconds) and run one after the other.</summary>
[CollectionDefinition(Name)]
public sealed class LibvirtTestGroup : ICollectionFixture<LibvirtFixture>
{
    public const string Name = "libvirt";
}
