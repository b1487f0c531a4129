using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Cli;

/// <summary>The devices already present, for <c>monitor --coldplug</c>.</summary>
internal static class MonitorColdplug
{
    // TODO(#2): integration point with branch `devices`: return
    // new ColdplugEnumerator(sysfsRoot).Enumerate(cancellationToken) once it is merged.
    public static IEnumerable<Uevent> Enumerate(string sysfsRoot, CancellationToken cancellationToken)
    {
        _ = sysfsRoot;
        _ = cancellationToken;
        throw new IOException("--coldplug is not available in this build yet (needs the sysfs enumerator, issue #2)");
    }
}
