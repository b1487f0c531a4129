namespace KvmUdevAgent.Tests.Packaging;

/// <summary>
/// Tests that install into the real system (<c>/etc/kvm-udev-agent</c>, <c>/usr/bin</c>) run alone:
/// while the package is installed, every CLI verb reads its configuration as the default, and the
/// other tests assume there is none.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class InstalledSystemGroup
{
    public const string Name = "installed system";
}
