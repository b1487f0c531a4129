using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using static Tmds.Linux.LibC;

namespace KvmUdevAgent.Core.Tests.Netns;

/// <summary>
/// A dedicated thread living in another network namespace. Linux keeps the network namespace per
/// thread, so <c>unshare(CLONE_NEWNET)</c> or <c>setns</c> on this thread moves nothing else of the
/// test process; sockets created by work run here stay in that namespace after the thread ends.
/// Injected netlink messages must only ever be sent from sockets made here, so they never reach
/// the machine's real listeners.
/// </summary>
internal sealed class NetnsThread : IDisposable
{
    private readonly BlockingCollection<Action> _work = [];
    private readonly Thread _thread;
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NetnsThread(Func<string?> enter, string name)
    {
        _thread = new Thread(() => Run(enter)) { IsBackground = true, Name = name };
        _thread.Start();
        _entered.Task.GetAwaiter().GetResult();
    }

    /// <summary>The namespace's identity (<c>net:[inode]</c>), for asserting where we are.</summary>
    public string NamespaceId { get; private set; } = string.Empty;

    /// <summary>A thread in a new, empty network namespace of its own (needs root).</summary>
    public static NetnsThread CreatePrivate() => new(static () =>
        unshare(CLONE_NEWNET) == 0 ? null : $"unshare(CLONE_NEWNET) failed, errno {errno} (needs root)", "netns-private");

    /// <summary>
    /// A thread in the network namespace of process <paramref name="pid"/> (e.g. a daemon started under
    /// <c>unshare -n</c>), to inject into what that process listens to.
    /// </summary>
    public static NetnsThread Enter(int pid) => new(() => EnterPath($"/proc/{pid}/ns/net"), $"netns-{pid}");

    /// <summary>The identity of the calling thread's network namespace.</summary>
    public static string CurrentNamespaceId() => new FileInfo($"/proc/thread-self/ns/net").LinkTarget ?? string.Empty;

    private static unsafe string? EnterPath(string path)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            int fd = open(p, O_RDONLY | O_CLOEXEC, 0);
            if (fd < 0)
            {
                return $"open({path}) failed, errno {errno}";
            }

            try
            {
                return setns(fd, CLONE_NEWNET) == 0 ? null : $"setns({path}) failed, errno {errno} (needs root)";
            }
            finally
            {
                _ = close(fd);
            }
        }
    }

    private void Run(Func<string?> enter)
    {
        string? error = enter();
        if (error is not null)
        {
            _entered.SetException(new InvalidOperationException(error));
            return;
        }

        NamespaceId = CurrentNamespaceId();
        _entered.SetResult();
        foreach (Action action in _work.GetConsumingEnumerable())
        {
            action();
        }
    }

    /// <summary>Runs <paramref name="func"/> on this thread, inside the namespace.</summary>
    public Task<T> RunAsync<T>(Func<T> func)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try
            {
                done.SetResult(func());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        return done.Task;
    }

    /// <summary>Runs <paramref name="func"/> on this thread and waits for it.</summary>
    public T Run<T>(Func<T> func) => RunAsync(func).GetAwaiter().GetResult();

    /// <summary>Runs <paramref name="action"/> on this thread and waits for it.</summary>
    public void Run(Action action) => Run(() => { action(); return 0; });

    /// <summary>
    /// Runs <paramref name="action"/> with this thread's REAL uid set to <paramref name="uid"/>, then
    /// restores it. The raw <c>setresuid</c> system call changes only the calling thread (glibc's
    /// wrapper would change every thread of the process). The effective uid stays 0, so the thread
    /// keeps CAP_NET_ADMIN and may still send to a netlink group; netlink stamps SCM_CREDENTIALS with
    /// the real uid (<c>scm_send</c> uses <c>current_uid()</c>), which is what a non-root sender shows.
    /// </summary>
    public void RunAsRealUid(uint uid, Action action) => Run(() =>
    {
        int sysSetresuid = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 117,
            Architecture.Arm64 => 147,
            var other => throw new PlatformNotSupportedException($"SYS_setresuid for {other}"),
        };
        const uint Unchanged = uint.MaxValue;
        if ((long)syscall(sysSetresuid, uid, Unchanged, Unchanged) != 0)
        {
            throw new InvalidOperationException($"setresuid({uid}) failed, errno {errno}");
        }

        try
        {
            action();
        }
        finally
        {
            if ((long)syscall(sysSetresuid, 0, Unchanged, Unchanged) != 0)
            {
                Environment.FailFast("could not restore the real uid of a netns test thread");
            }
        }
    });

    public void Dispose()
    {
        _work.CompleteAdding();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }

        _work.Dispose();
    }
}
