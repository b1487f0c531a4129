using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// <c>mount:</c> — <see cref="Path"/> is a template relative to the mount base, split on <c>/</c>
/// into segments that are expanded and sanitised one by one. <c>nosuid,nodev,noexec</c> are
/// always added unless <see cref="Allow"/> lifts them.
/// </summary>
internal sealed record MountSpec(string Path, ImmutableArray<string> Options, ImmutableArray<string> Allow)
{
    public bool Equals(MountSpec? other) => other is not null && Path == other.Path && Options.SequenceEqual(other.Options) && Allow.SequenceEqual(other.Allow);

    public override int GetHashCode() => HashCode.Combine(Path, Options.Length, Allow.Length);
}
