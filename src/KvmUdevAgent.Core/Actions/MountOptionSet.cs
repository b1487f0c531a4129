using System.Collections.Frozen;
using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// Builds the option list for mount(8): read-only flag, forced safe options, per-filesystem
/// defaults, then the rule's own options, each checked.
/// </summary>
internal static class MountOptionSet
{
    /// <summary>
    /// Options that would undo the forced safety, change what mount(8) does, or reach outside
    /// the device: fstab-only flags, bind/move/remount, propagation changes, loop setup,
    /// helper programs (<c>uhelper=</c> runs <c>/sbin/umount.NAME</c>), SELinux labels, and
    /// every userspace <c>x-</c>/<c>X-</c> option (<c>X-mount.mkdir</c>, <c>X-mount.owner</c>, …).
    /// </summary>
    private static readonly FrozenSet<string> s_denied = new[]
    {
        "defaults", "user", "users", "owner", "group", "nouser", "auto", "noauto", "nofail", "_netdev",
        "remount", "bind", "rbind", "move",
        "shared", "rshared", "slave", "rslave", "private", "rprivate", "unbindable", "runbindable",
        "loop", "offset", "sizelimit", "encryption", "helper", "uhelper", "comment",
        "context", "fscontext", "defcontext", "rootcontext",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Each needs its <see cref="MountAllow"/> flag.</summary>
    private static readonly FrozenDictionary<string, MountAllow> s_needsAllow = new Dictionary<string, MountAllow>(StringComparer.Ordinal)
    {
        ["exec"] = MountAllow.Exec,
        ["suid"] = MountAllow.Suid,
        ["dev"] = MountAllow.Dev,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>
    /// Builds the list. Fails with a reason naming the option if an option is empty, has a
    /// character outside <c>[A-Za-z0-9_.:+=-]</c> (no commas, quotes, spaces or slashes), does
    /// not start with a letter or digit, is denied, needs an <c>allow:</c> the rule lacks, or
    /// contradicts the read-only flag.
    /// </summary>
    public static bool TryBuild(MountRequest request, out ImmutableArray<string> options, out string reason)
    {
        options = [];
        var user = request.Options.IsDefault ? [] : request.Options;
        var readOnly = request.ReadOnly;
        foreach (var option in user)
        {
            if (!TryCheck(option, request.Allow, out reason))
            {
                return false;
            }
            readOnly |= option == "ro";
        }
        if (readOnly && user.Contains("rw"))
        {
            reason = "option 'rw' contradicts read-only";
            return false;
        }

        var result = new List<string>(8 + user.Length) { readOnly ? "ro" : "rw" };
        foreach (var forced in MountDefaults.Forced)
        {
            var lifted = s_needsAllow[forced[2..]];
            if ((request.Allow & lifted) == 0)
            {
                result.Add(forced);
            }
        }
        if (request.FsType is { } fsType && MountDefaults.PerFilesystem.TryGetValue(fsType, out var defaults))
        {
            foreach (var option in defaults)
            {
                if (!user.Any(u => KeyOf(u).SequenceEqual(KeyOf(option))))
                {
                    result.Add(option);
                }
            }
        }
        foreach (var option in user)
        {
            if (option is not ("ro" or "rw") && !result.Contains(option))
            {
                result.Add(option);
            }
        }
        options = [.. result];
        reason = "";
        return true;
    }

    private static bool TryCheck(string option, MountAllow allow, out string reason)
    {
        if (string.IsNullOrEmpty(option))
        {
            reason = "empty mount option";
            return false;
        }
        foreach (var c in option)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or ':' or '+' or '=' or '-'))
            {
                reason = $"mount option '{Printable(option)}' has a character outside [A-Za-z0-9_.:+=-]";
                return false;
            }
        }
        if (!char.IsAsciiLetterOrDigit(option[0]))
        {
            reason = $"mount option '{option}' must start with a letter or digit";
            return false;
        }
        var key = KeyOf(option).ToString();
        if (s_denied.Contains(key) || key.StartsWith("x-", StringComparison.OrdinalIgnoreCase))
        {
            reason = $"mount option '{option}' is not allowed (it changes what mount does, not how the filesystem is mounted)";
            return false;
        }
        if (s_needsAllow.TryGetValue(key, out var needed) && (allow & needed) == 0)
        {
            reason = $"mount option '{option}' needs 'allow: [{key}]' in the rule";
            return false;
        }
        reason = "";
        return true;
    }

    private static ReadOnlySpan<char> KeyOf(string option)
    {
        var eq = option.IndexOf('=', StringComparison.Ordinal);
        return eq < 0 ? option : option.AsSpan(0, eq);
    }

    private static string Printable(string s) => string.Create(s.Length, s, static (span, src) =>
    {
        for (var i = 0; i < src.Length; i++)
        {
            span[i] = char.IsControl(src[i]) ? '?' : src[i];
        }
    });
}
