using System.Collections.Immutable;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Tmds.Linux;

namespace KvmUdevAgent.Core.Control;

/// <summary>Reads who is connected on a unix socket, from the kernel.</summary>
internal static class PeerCredentials
{
    // SO_PEERGROUPS (Linux 4.13, asm-generic/socket.h): the supplementary groups of the peer as
    // they were at connect(2) time. Tmds.LibC 0.5.0 does not define it.
    private const int SO_PEERGROUPS = 59;
    private const int MaxGroups = 65536;

    /// <summary>The peer's pid, uid, gid (SO_PEERCRED) and supplementary groups.</summary>
    /// <exception cref="IOException">The kernel did not say (the peer is gone, or not a unix socket).</exception>
    public static unsafe ControlPeer Read(Socket socket)
    {
        int fd = (int)socket.SafeHandle.DangerousGetHandle();
        ucred credentials;
        socklen_t length = (socklen_t)(uint)sizeof(ucred);
        if (LibC.getsockopt(fd, LibC.SOL_SOCKET, LibC.SO_PEERCRED, &credentials, &length) < 0)
        {
            throw new IOException($"getsockopt(SO_PEERCRED): {Marshal.GetPInvokeErrorMessage(LibC.errno)}");
        }

        uint uid = credentials.uid;
        uint gid = credentials.gid;
        int pid = credentials.pid;
        ImmutableArray<uint> groups = ReadPeerGroups(fd) ?? ReadGroupsFromProc(pid, uid);
        return new ControlPeer { Pid = pid, Uid = uid, Gid = gid, Groups = groups };
    }

    /// <summary>SO_PEERGROUPS; null when the kernel is older than 4.13.</summary>
    private static unsafe ImmutableArray<uint>? ReadPeerGroups(int fd)
    {
        int count = 32;
        while (count <= MaxGroups)
        {
            uint[] buffer = new uint[count];
            socklen_t length = (socklen_t)(uint)(count * sizeof(uint));
            int rc;
            fixed (uint* p = buffer)
            {
                rc = LibC.getsockopt(fd, LibC.SOL_SOCKET, SO_PEERGROUPS, p, &length);
            }

            if (rc == 0)
            {
                return ImmutableArray.Create(buffer, 0, (int)(uint)length / sizeof(uint));
            }

            int errno = LibC.errno;
            if (errno == LibC.ERANGE)
            {
                // The kernel wrote the size it needs into length.
                count = Math.Max(count * 2, (int)(uint)length / sizeof(uint));
                continue;
            }

            if (errno == LibC.ENOPROTOOPT)
            {
                return null;
            }

            throw new IOException($"getsockopt(SO_PEERGROUPS): {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        throw new IOException("getsockopt(SO_PEERGROUPS): the peer has too many groups");
    }

    /// <summary>
    /// Fallback for kernels without SO_PEERGROUPS. Racy by nature: the groups are read now, not at
    /// connect time, and the pid may have exited and been reused by another process. We accept the
    /// groups only if the process behind the pid still has the uid the kernel reported for the
    /// connection; a reused pid with another uid (or a vanished one) yields no supplementary groups,
    /// so the race can only refuse access, never grant it to a different user. A same-uid process
    /// that dropped or gained groups after connecting is the remaining (accepted) imprecision.
    /// </summary>
    internal static ImmutableArray<uint> ReadGroupsFromProc(int pid, uint uid)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/status");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }

        ImmutableArray<uint> groups = [];
        bool uidMatches = false;
        foreach (string line in lines)
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                // Uid: real effective saved fs; SO_PEERCRED reports the effective uid.
                string[] ids = line[4..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                uidMatches = ids.Length > 1 && uint.TryParse(ids[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint effective) && effective == uid;
            }
            else if (line.StartsWith("Groups:", StringComparison.Ordinal))
            {
                ImmutableArray<uint>.Builder builder = ImmutableArray.CreateBuilder<uint>();
                foreach (string item in line[7..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
                {
                    if (uint.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out uint g))
                    {
                        builder.Add(g);
                    }
                }

                groups = builder.ToImmutable();
            }
        }

        return uidMatches ? groups : [];
    }
}
