using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Actions;

/// <summary>A hook to run, resolved from a plan: templates already expanded, one string per argument.</summary>
internal sealed record HookRequest
{
    /// <summary><c>argv[0]</c> is an absolute path to an executable (no PATH lookup, no shell); the rest are passed verbatim.</summary>
    public required ImmutableArray<string> Argv { get; init; }

    /// <summary>
    /// <c>KUA_*</c> variables (names <c>KUA_[A-Z0-9_]+</c>; values without NUL). They are the
    /// only variables besides <see cref="HookDefaults.BaseEnvironment"/>.
    /// </summary>
    public ImmutableDictionary<string, string> Environment { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>After this the whole process group gets SIGTERM, then SIGKILL after <see cref="KillGrace"/>.</summary>
    public TimeSpan Timeout { get; init; } = HookDefaults.Timeout;

    public TimeSpan KillGrace { get; init; } = HookDefaults.KillGrace;

    /// <summary>Bytes kept of stdout and of stderr each; the rest is read and dropped.</summary>
    public int OutputLimit { get; init; } = HookDefaults.OutputLimit;
}
