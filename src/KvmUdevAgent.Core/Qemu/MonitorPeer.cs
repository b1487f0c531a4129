using System.Globalization;
using System.Net.Sockets;
using Tmds.Linux;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// Who is behind a unix-socket monitor. SO_PEERCRED gives QEMU's pid but uid 0 for a QEMU started
/// with <c>-runas</c>: the socket was made before it dropped its privileges (design §7). The uid
/// it runs as now is in <c>/proc/PID/status</c>.
/// </summary>
internal static class MonitorPeer
{
    /// <summary>The peer's pid from SO_PEERCRED; null when the kernel does not say.</summary>
    public static unsafe int? ReadPid(Socket socket)
    {
        int fd = (int)socket.SafeHandle.DangerousGetHandle();
        ucred credentials;
        socklen_t length = (socklen_t)(uint)sizeof(ucred);
        return LibC.getsockopt(fd, LibC.SOL_SOCKET, LibC.SO_PEERCRED, &credentials, &length) == 0 && credentials.pid > 0 ? credentials.pid : null;
    }

    /// <summary>The effective uid of process <paramref name="pid"/> (the second field of <c>Uid:</c>); null when it is gone.</summary>
    public static uint? ReadEffectiveUid(int pid, string procRoot = "/proc")
    {
        try
        {
            foreach (string line in File.ReadLines(Path.Join(procRoot, pid.ToString(CultureInfo.InvariantCulture), "status")))
            {
                if (!line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    continue;
                }

                string[] fields = line["Uid:".Length..].Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
                return fields.Length >= 2 && uint.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint uid) ? uid : null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }
}
