using System.Globalization;
using System.Runtime.InteropServices;
using static KvmUdevAgent.Core.Actions.HookNative;

namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// Puts a hook into its cgroup before it runs a single instruction of its own (issue 17). The
/// spawned child's first file action opens a FIFO for reading, which blocks it between fork and
/// exec until there is a writer. Meanwhile a helper thread finds the child among the spawning
/// thread's children (<c>/proc/self/task/TID/children</c>; the spawning thread itself is suspended
/// by posix_spawn's vfork), writes it into the cgroup, and only then opens the FIFO for writing,
/// which lets the child go on to exec. (An anonymous pipe would not do: opening one through
/// <c>/proc</c> never waits for a writer.)
/// </summary>
/// <remarks>
/// The agent holds a read end too, so the helper's write open never blocks; the helper always
/// opens it in the end, placed or not (after <see cref="PlacementTimeout"/>), so a spawn can never
/// hang on the gate; and the write end stays open until posix_spawn has returned, so a child that
/// reaches the gate late still passes.
/// </remarks>
internal sealed class HookCgroupGate : IDisposable
{
    private const int ORdOnlyNonBlock = ORdOnly | ONonBlock;
    private static readonly TimeSpan PlacementTimeout = TimeSpan.FromSeconds(5);
    private readonly HookCgroup _cgroup;
    private readonly string _directory;
    private readonly string _fifo;
    private readonly int _spawningThread;
    private readonly HashSet<int> _before;
    private readonly Thread _helper;
    private int _readEnd = -1;
    private int _writeEnd = -1;
    private volatile bool _spawned;

    private unsafe HookCgroupGate(HookCgroup cgroup)
    {
        _cgroup = cgroup;
        // A private (0700) directory per spawn, gone again in Dispose: nothing is left behind.
        try
        {
            _directory = Directory.CreateTempSubdirectory("kua-gate-").FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HookStartException("cannot create the spawn gate's directory: " + e.Message, e);
        }

        _fifo = Path.Combine(_directory, "gate");
        fixed (byte* p = Utf8(_fifo))
        {
            if (MkFifo(p, 0x180) != 0)
            {
                int error = Marshal.GetLastPInvokeError();
                Directory.Delete(_directory, recursive: true);
                throw new HookStartException("mkfifo", error);
            }

            _readEnd = HookNative.Open(p, ORdOnlyNonBlock | OCloExec);
        }

        if (_readEnd < 0)
        {
            int error = Marshal.GetLastPInvokeError();
            Directory.Delete(_directory, recursive: true);
            throw new HookStartException("open (gate)", error);
        }

        _spawningThread = GetTid();
        _before = Children(_spawningThread);
        _helper = new Thread(Place) { IsBackground = true, Name = "kua-hook-cgroup" };
    }

    /// <summary>What the child's first file action opens (read-only): the gate.</summary>
    public string ChildPath => _fifo;

    /// <summary>The pid the helper moved into the cgroup, or 0.</summary>
    public int PlacedPid { get; private set; }

    /// <summary>Why the child was not placed, when <see cref="PlacedPid"/> is 0.</summary>
    public string Error { get; private set; } = "";

    /// <summary>Call on the thread that will call posix_spawn, right before it.</summary>
    public static HookCgroupGate Open(HookCgroup cgroup)
    {
        var gate = new HookCgroupGate(cgroup);
        gate._helper.Start();
        return gate;
    }

    /// <summary>posix_spawn has returned (the child exec'd or failed): stop the helper.</summary>
    public void Spawned()
    {
        _spawned = true;
        _helper.Join();
    }

    public void Dispose()
    {
        if (_helper.IsAlive)
        {
            Spawned();
        }

        foreach (int fd in (int[])[Interlocked.Exchange(ref _readEnd, -1), Interlocked.Exchange(ref _writeEnd, -1)])
        {
            if (fd >= 0)
            {
                _ = Close(fd);
            }
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover empty directory in /tmp is not worth failing a hook for.
        }
    }

    private void Place()
    {
        var deadline = DateTime.UtcNow + PlacementTimeout;
        try
        {
            while (!_spawned && DateTime.UtcNow < deadline)
            {
                foreach (int pid in Children(_spawningThread))
                {
                    if (!_before.Contains(pid))
                    {
                        if (_cgroup.TryAdd(pid, out string error))
                        {
                            PlacedPid = pid;
                        }
                        else
                        {
                            Error = error;
                        }

                        return;
                    }
                }

                Thread.Yield();
            }

            Error = "the spawned hook did not show up among the agent's children in time";
        }
        finally
        {
            Release();
        }
    }

    private unsafe void Release()
    {
        fixed (byte* p = Utf8(_fifo))
        {
            _writeEnd = HookNative.Open(p, OWrOnly | OCloExec);
        }
    }

    private static byte[] Utf8(string s) => System.Text.Encoding.UTF8.GetBytes(s + "\0");

    private static HashSet<int> Children(int tid)
    {
        var pids = new HashSet<int>();
        string text;
        try
        {
            text = File.ReadAllText(string.Create(CultureInfo.InvariantCulture, $"/proc/self/task/{tid}/children"));
        }
        catch (IOException)
        {
            return pids;
        }

        foreach (string part in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                pids.Add(pid);
            }
        }

        return pids;
    }
}
