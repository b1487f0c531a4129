namespace KvmUdevAgent.Core.Actions;

internal static class HookDefaults
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Between SIGTERM and SIGKILL to the process group.</summary>
    public static readonly TimeSpan KillGrace = TimeSpan.FromSeconds(3);

    /// <summary>64 KiB each for stdout and stderr: enough for a diagnostic, small for an audit record.</summary>
    public const int OutputLimit = 64 * 1024;

    /// <summary>
    /// After the hook's main process is gone, how long to keep reading output that its already
    /// killed group might still have in the pipe, or that a process that escaped the group
    /// (its own setsid) holds open.
    /// </summary>
    public static readonly TimeSpan OutputDrain = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The whole inherited environment of a hook besides <c>KUA_*</c>: no PATH from the daemon's
    /// caller, no proxies, no LD_*; a fixed system PATH (no /usr/local: hooks run as root and name
    /// their tools) and a UTF-8 locale that exists on every glibc since 2.35 so that labels in
    /// KUA_* print correctly.
    /// </summary>
    public static readonly KeyValuePair<string, string>[] BaseEnvironment =
    [
        new("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        new("LANG", "C.UTF-8"),
    ];

    public const string EnvironmentPrefix = "KUA_";
}
