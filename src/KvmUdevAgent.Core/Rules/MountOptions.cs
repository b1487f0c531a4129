using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Mount options a rule may ask for. <c>nosuid,nodev,noexec</c> are always added (device data is
/// hostile and the mount is made by root) unless <c>allow:</c> lifts one; asking for
/// <c>exec</c>/<c>suid</c>/<c>dev</c> in <c>options:</c> is refused so the choice is explicit.
/// </summary>
internal static class MountOptions
{
    public static readonly FrozenSet<string> Allowable = new[] { "exec", "suid", "dev" }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly System.Buffers.SearchValues<char> s_valueChars =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");

    private static readonly FrozenSet<string> s_flags = new[]
    {
        "ro", "rw", "noatime", "nodiratime", "relatime", "strictatime", "lazytime", "sync", "async", "dirsync",
        "flush", "utf8", "discard", "nodiscard", "showexec", "quiet", "noauto_da_alloc",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> s_valued = new[]
    {
        "uid", "gid", "umask", "fmask", "dmask", "iocharset", "codepage", "shortname", "errors", "data", "commit",
    }.ToFrozenSet(StringComparer.Ordinal);

    public static bool TryValidate(string option, [NotNullWhen(false)] out string? reason)
    {
        int eq = option.IndexOf('=', StringComparison.Ordinal);
        string name = eq < 0 ? option : option[..eq];
        if (Allowable.Contains(name) || name is "nosuid" or "nodev" or "noexec")
        {
            reason = eq < 0 && Allowable.Contains(name)
                ? $"mount option '{option}' is refused in 'options:'; add '{name}' to 'allow:' if you really need it"
                : $"mount option '{option}' is always set; leave it out";
            return false;
        }

        if (eq < 0 ? !s_flags.Contains(name) : !s_valued.Contains(name) || eq == option.Length - 1
            || option.AsSpan(eq + 1).ContainsAnyExcept(s_valueChars))
        {
            reason = $"unknown or malformed mount option '{option}'; expected one of: {string.Join(", ", s_flags.Order(StringComparer.Ordinal))}, or {string.Join("=, ", s_valued.Order(StringComparer.Ordinal))}=VALUE";
            return false;
        }

        reason = null;
        return true;
    }

    /// <summary>The options passed to mount(8): the rule's, then the safety flags not lifted by <paramref name="allow"/>.</summary>
    public static IEnumerable<string> Resolve(IEnumerable<string> options, IReadOnlyCollection<string> allow)
    {
        foreach (string option in options)
        {
            yield return option;
        }

        foreach (string word in (string[])["suid", "dev", "exec"])
        {
            if (!allow.Contains(word))
            {
                yield return "no" + word;
            }
        }
    }
}
