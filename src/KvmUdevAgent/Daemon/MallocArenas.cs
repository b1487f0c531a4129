using System.Runtime.InteropServices;

namespace KvmUdevAgent.Daemon;

/// <summary>
/// Issue 15: glibc gives each thread that calls malloc an arena of its own (up to 8 per core), and
/// each arena keeps pages of its own. The daemon's threads hardly use malloc (managed objects live
/// on the GC heap), so one arena serves them all. Set before the host starts any thread; the
/// environment (<c>MALLOC_ARENA_MAX</c>, <c>GLIBC_TUNABLES</c>) still decides when it is set.
/// </summary>
internal static partial class MallocArenas
{
    private const int MArenaMax = -8;

    public static void LimitToOne()
    {
        if (Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is null && Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is null)
        {
            _ = MallOpt(MArenaMax, 1);
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int MallOpt(int param, int value);
}
