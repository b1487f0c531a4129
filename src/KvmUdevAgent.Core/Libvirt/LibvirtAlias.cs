using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Libvirt;

/// <summary>
/// The user alias (<c>ua-</c> prefix, libvirt's rule) of an agent device: <c>ua-</c> + the agent id
/// (<see cref="QemuDeviceId"/>), with <c>.</c> (port paths) as <c>_</c> because libvirt allows only
/// <c>[A-Za-z0-9_-]</c> in user aliases. Agent ids contain no <c>_</c>, so the mapping is reversible.
/// </summary>
internal static class LibvirtAlias
{
    public const string Prefix = "ua-";

    /// <summary>Aliases the agent made start with this; any other alias belongs to the admin.</summary>
    public const string AgentPrefix = Prefix + QemuDeviceId.Prefix;

    public static string FromId(string id) => Prefix + id.Replace('.', '_');

    /// <summary>The agent id of <paramref name="alias"/>, or null when the alias is not one the agent made.</summary>
    public static string? ToId(string? alias)
    {
        if (alias is null || !alias.StartsWith(AgentPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        string id = alias[Prefix.Length..].Replace('_', '.');
        return QemuDeviceId.IsAgentId(id) ? id : null;
    }
}
