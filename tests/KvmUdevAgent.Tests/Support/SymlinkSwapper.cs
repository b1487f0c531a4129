using System.Runtime.InteropServices;

namespace KvmUdevAgent.Tests.Support;

/// <summary>
/// The attacker of a symlink race: on its own thread, in a tight loop, atomically exchanges a
/// real directory with a symlink to <c>target</c> (<c>renameat2(RENAME_EXCHANGE)</c>), so the
/// path always exists and is the directory half of the time, the symlink the other half. A path
/// walk that checks first and uses the path again later sees the two at different times.
/// <see cref="Stop"/> (and <see cref="Dispose"/>) always leaves the real directory in place.
/// </summary>
internal sealed partial class SymlinkSwapper : IDisposable
{
    private const int AtFdCwd = -100;
    private const uint RenameExchange = 2;

    private readonly string _path;
    private readonly string _link;
    private readonly string _target;
    private Thread? _thread;
    private volatile bool _stop;
    private bool _swapped;

    /// <param name="path">The real directory to swap (its parent must be writable by us: the mistake under test).</param>
    /// <param name="target">Where the symlink points while it stands in for the directory.</param>
    public SymlinkSwapper(string path, string target)
    {
        _path = path;
        _link = path + ".swap";
        _target = target;
    }

    /// <summary>How many times the symlink took the directory's place so far.</summary>
    public int Swaps { get; private set; }

    public void Start()
    {
        Stop();
        File.CreateSymbolicLink(_link, _target);
        _stop = false;
        _thread = new Thread(Loop) { IsBackground = true, Name = "symlink-swapper" };
        _thread.Start();
    }

    /// <summary>Stops the loop and puts the real directory back.</summary>
    public void Stop()
    {
        _stop = true;
        _thread?.Join();
        _thread = null;
        if (_swapped)
        {
            Exchange();
        }

        if (new FileInfo(_link).LinkTarget is not null)
        {
            File.Delete(_link);
        }
    }

    public void Dispose() => Stop();

    private void Loop()
    {
        while (!_stop)
        {
            Exchange();
            if (_swapped)
            {
                Swaps++;
            }
        }
    }

    private void Exchange()
    {
        if (RenameAt2(AtFdCwd, _path, AtFdCwd, _link, RenameExchange) != 0)
        {
            throw new IOException($"renameat2({_path}, {_link}, RENAME_EXCHANGE) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        _swapped = !_swapped;
    }

    [LibraryImport("libc.so.6", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDirFd, string oldPath, int newDirFd, string newPath, uint flags);
}
