using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary><c>hook:</c> — argv templates, never a shell string; <see cref="OnRemove"/> is empty when nothing runs on removal.</summary>
internal sealed record HookSpec(ImmutableArray<string> Run, TimeSpan Timeout, ImmutableArray<string> OnRemove)
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    public bool Equals(HookSpec? other) => other is not null && Run.SequenceEqual(other.Run) && Timeout == other.Timeout && OnRemove.SequenceEqual(other.OnRemove);

    public override int GetHashCode() => HashCode.Combine(Run.Length, Timeout, OnRemove.Length);
}
