using System.Globalization;

namespace KvmUdevAgent.Core.Control;

/// <summary>Who may use which verb: mutating verbs root only; read-only verbs root or the control group.</summary>
internal sealed class ControlAccessPolicy(uint? groupId)
{
    /// <summary>Null when <paramref name="peer"/> may use a verb of <paramref name="access"/>; else the message of the refusal.</summary>
    public string? Refusal(ControlPeer peer, string verb, ControlVerbAccess access)
    {
        if (peer.IsRoot)
        {
            return null;
        }

        string who = string.Create(CultureInfo.InvariantCulture, $"uid {peer.Uid}, gid {peer.Gid}");
        if (access == ControlVerbAccess.Mutating)
        {
            return $"'{verb}' requires root: it changes what the agent does; you are {who}; run it with sudo";
        }

        if (groupId is uint gid)
        {
            return peer.IsInGroup(gid)
                ? null
                : string.Create(CultureInfo.InvariantCulture, $"'{verb}' requires root or membership in the control group (gid {gid}); you are {who}");
        }

        return $"'{verb}' requires root (no control group is configured); you are {who}";
    }
}
