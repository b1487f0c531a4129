using System.Runtime.InteropServices;
using System.Text;
using static KvmUdevAgent.Core.Actions.HookNative;

namespace KvmUdevAgent.Core.Actions;

internal sealed partial class HookProcess
{
    private static unsafe int Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string> environment, int stdoutWrite, int stderrWrite, HookCgroupGate? gate)
    {
        var attr = NativeMemory.AllocZeroed(SpawnAttrSize);
        var actions = NativeMemory.AllocZeroed(FileActionsSize);
        var sigMask = NativeMemory.AllocZeroed(SigSetSize);
        var sigDefault = NativeMemory.AllocZeroed(SigSetSize);
        var strings = new List<IntPtr>(argv.Count + environment.Count + 3);
        try
        {
            Check(FileActionsInit(actions), "posix_spawn_file_actions_init");
            Check(SpawnAttrInit(attr), "posix_spawnattr_init");
            if (gate is not null)
            {
                // First: wait at the gate (an open that blocks until the hook is in its cgroup),
                // on a number above the pipes dup2'ed below; closefrom(3) closes it before exec.
                var gatePath = Utf8(strings, gate.ChildPath);
                Check(FileActionsAddOpen(actions, Math.Max(3, Math.Max(stdoutWrite, stderrWrite) + 1), gatePath, ORdOnly, 0), "posix_spawn_file_actions_addopen");
            }
            var devNull = Utf8(strings, "/dev/null");
            var root = Utf8(strings, "/");
            Check(FileActionsAddOpen(actions, 0, devNull, ORdOnly, 0), "posix_spawn_file_actions_addopen");
            Check(FileActionsAddDup2(actions, stdoutWrite, 1), "posix_spawn_file_actions_adddup2");
            Check(FileActionsAddDup2(actions, stderrWrite, 2), "posix_spawn_file_actions_adddup2");
            Check(FileActionsAddCloseFrom(actions, 3), "posix_spawn_file_actions_addclosefrom_np");
            Check(FileActionsAddChdir(actions, root), "posix_spawn_file_actions_addchdir_np");

            Check(SigEmptySet(sigMask), "sigemptyset");
            Check(SigEmptySet(sigDefault), "sigemptyset");
            for (var signal = 1; signal < 32; signal++)
            {
                if (signal is not (SigKill or 19 /* SIGSTOP */))
                {
                    Check(SigAddSet(sigDefault, signal), "sigaddset");
                }
            }
            Check(SpawnAttrSetSigMask(attr, sigMask), "posix_spawnattr_setsigmask");
            Check(SpawnAttrSetSigDefault(attr, sigDefault), "posix_spawnattr_setsigdefault");
            Check(SpawnAttrSetFlags(attr, PosixSpawnSetSid | PosixSpawnSetSigMask | PosixSpawnSetSigDef), "posix_spawnattr_setflags");

            var argvArray = stackalloc byte*[argv.Count + 1];
            for (var i = 0; i < argv.Count; i++)
            {
                argvArray[i] = Utf8(strings, argv[i]);
            }
            argvArray[argv.Count] = null;
            var envArray = stackalloc byte*[environment.Count + 1];
            for (var i = 0; i < environment.Count; i++)
            {
                envArray[i] = Utf8(strings, environment[i]);
            }
            envArray[environment.Count] = null;

            int pid;
            var rc = PosixSpawn(&pid, Utf8(strings, path), actions, attr, argvArray, envArray);
            if (rc != 0)
            {
                throw new HookStartException($"spawning '{path}'", rc);
            }
            return pid;
        }
        finally
        {
            _ = FileActionsDestroy(actions);
            _ = SpawnAttrDestroy(attr);
            NativeMemory.Free(attr);
            NativeMemory.Free(actions);
            NativeMemory.Free(sigMask);
            NativeMemory.Free(sigDefault);
            foreach (var s in strings)
            {
                NativeMemory.Free((void*)s);
            }
        }
    }

    private static void SetNonBlocking(int fd)
    {
        var flags = Fcntl(fd, FGetFl, 0);
        if (flags < 0 || Fcntl(fd, FSetFl, flags | ONonBlock) < 0)
        {
            throw new HookStartException("fcntl(O_NONBLOCK)", Marshal.GetLastPInvokeError());
        }
    }

    private static void Check(int rc, string operation)
    {
        if (rc != 0)
        {
            throw new HookStartException(operation, rc);
        }
    }

    private static unsafe byte* Utf8(List<IntPtr> owned, string s)
    {
        var length = Encoding.UTF8.GetByteCount(s);
        var p = (byte*)NativeMemory.Alloc((nuint)length + 1);
        owned.Add((IntPtr)p);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, length));
        p[length] = 0;
        return p;
    }
}
