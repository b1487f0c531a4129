using System.Runtime.InteropServices;

namespace KvmUdevAgent.Core.Tests.Actions;

/// <summary>Watches a process that is not our child: a pidfd turns readable when it exits.</summary>
internal static partial class ProcessProbe
{
    [LibraryImport("libc.so.6", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall2(long number, long arg1, long arg2);

    [LibraryImport("libc.so.6", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(long* fds, nuint count, int timeoutMs);

    [LibraryImport("libc.so.6", EntryPoint = "close")]
    private static partial int Close(int fd);

    /// <summary>Opens a pidfd now (the process must be alive); the returned task completes when it exits.</summary>
    public static Task<bool> WatchExit(int pid, TimeSpan timeout)
    {
        var pidfd = (int)Syscall2(434, pid, 0);
        Assert.True(pidfd >= 0, $"pidfd_open({pid}) failed: errno {Marshal.GetLastPInvokeError()}");
        return Task.Factory.StartNew(() =>
        {
            try
            {
                unsafe
                {
                    long pollfd = (uint)pidfd | (1L << 32); // struct pollfd { int fd; short events = POLLIN; short revents; }
                    return Poll(&pollfd, 1, (int)timeout.TotalMilliseconds) == 1;
                }
            }
            finally
            {
                _ = Close(pidfd);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>True if the pid is gone or a zombie waiting for its (non-reaping) parent.</summary>
    public static bool IsDead(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is 'Z' or 'X';
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return true;
        }
    }
}
