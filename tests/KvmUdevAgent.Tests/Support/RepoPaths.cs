namespace KvmUdevAgent.Tests.Support;

/// <summary>Where the repository and the agent binary under test are.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>
    /// The binary to run: the NativeAOT build that test.sh publishes (KUA_AOT_BINARY), else the
    /// framework-dependent apphost copied next to the tests.
    /// </summary>
    public static string AgentBinary
    {
        get
        {
            string? aot = Environment.GetEnvironmentVariable("KUA_AOT_BINARY");
            if (!string.IsNullOrEmpty(aot))
            {
                return aot;
            }

            string apphost = Path.Combine(AppContext.BaseDirectory, "kvm-udev-agent");
            return File.Exists(apphost) ? apphost : throw new FileNotFoundException("kvm-udev-agent binary not found next to the tests; build the solution first", apphost);
        }
    }

    private static string FindRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "KvmUdevAgent.sln")))
            {
                return dir;
            }
        }

        throw new DirectoryNotFoundException("repository root (KvmUdevAgent.sln) not found above " + AppContext.BaseDirectory);
    }
}
