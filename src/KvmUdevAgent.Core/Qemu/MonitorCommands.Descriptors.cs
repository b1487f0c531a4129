using System.Globalization;
using System.Text.Json;
using KvmUdevAgent.Core.Configuration;
using Microsoft.Win32.SafeHandles;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// A QEMU that does not run as root (<c>-runas</c>) cannot open <c>/dev/sdX</c> or
/// <c>/dev/bus/usb/BBB/DDD</c>: the agent opens the node and passes the descriptor over the QMP
/// unix socket (SCM_RIGHTS with <c>add-fd</c>, opaque = the agent's node or device id), and QEMU
/// opens <c>/dev/fdset/N</c> instead of the path. Fdsets are removed on detach.
/// </summary>
internal sealed partial class MonitorCommands
{
    private bool? _qemuIsRoot;

    /// <summary>The <c>pass_fds</c> setting this connection follows.</summary>
    public PassFdsMode PassFds { get; init; } = PassFdsMode.Auto;

    /// <summary>The path QEMU should open for <paramref name="devNode"/>: the node itself, or a fdset holding a descriptor the agent opened.</summary>
    private async Task<(string Path, long? Fdset)> PathForQemuAsync(string opaque, string devNode, bool readOnly, bool afterPermissionDenied, CancellationToken cancellationToken)
    {
        bool pass = PassFds switch
        {
            PassFdsMode.Always => true,
            PassFdsMode.Auto => afterPermissionDenied || !QemuIsRoot(),
            _ => false,
        };
        if (!pass)
        {
            return (devNode, null);
        }

        long fdset = await AddFdAsync(opaque, devNode, readOnly, afterPermissionDenied, cancellationToken).ConfigureAwait(false);
        return (QmpCommands.FdsetPathPrefix + fdset.ToString(CultureInfo.InvariantCulture), fdset);
    }

    /// <summary>
    /// Whether the QEMU behind this monitor runs as root. SO_PEERCRED says uid 0 even for a
    /// <c>-runas</c> QEMU (the socket predates the privilege drop), so the uid comes from
    /// <c>/proc/PID/status</c>. Unknown (TCP, a process we cannot read) counts as root: QEMU opens
    /// the node itself, and a "Permission denied" still leads to a descriptor where one can go.
    /// </summary>
    private bool QemuIsRoot()
    {
        if (_qemuIsRoot is bool known)
        {
            return known;
        }

        bool root = _connection.PeerPid is not int pid || MonitorPeer.ReadEffectiveUid(pid) is not uint uid || uid == 0;
        _qemuIsRoot = root;
        return root;
    }

    private async Task<long> AddFdAsync(string opaque, string devNode, bool readOnly, bool afterPermissionDenied, CancellationToken cancellationToken)
    {
        if (_connection is not QmpConnection { CanPassDescriptors: true } qmp)
        {
            string why = _connection.Protocol == MonitorProtocol.Hmp
                ? "an HMP monitor cannot take a file descriptor (QEMU's add-fd is QMP only)"
                : "a TCP or telnet monitor cannot carry a file descriptor (SCM_RIGHTS needs a unix socket)";
            string start = afterPermissionDenied
                ? "QEMU may not open " + devNode + " itself (it does not run as root?), and "
                : "pass_fds: true, but ";
            throw new MonitorException(start + why + ": give the VM a QMP monitor on a unix socket (-qmp unix:/run/qemu/NAME.qmp,server=on,wait=off) for the agent, or set pass_fds: false if QEMU can open the device itself.");
        }

        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(devNode, FileMode.Open, readOnly ? FileAccess.Read : FileAccess.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MonitorException("Could not open " + devNode + " to pass it to QEMU: " + e.Message, e);
        }

        using (handle)
        {
            JsonElement result = await qmp.ExecuteWithDescriptorAsync(QmpCommands.AddFd, w => w.WriteString("opaque", opaque), handle, cancellationToken).ConfigureAwait(false);
            return result.GetProperty("fdset-id").GetInt64();
        }
    }

    /// <summary>Removes every fdset the agent added for <paramref name="opaque"/> (none where no descriptor can have been passed).</summary>
    private async Task RemoveFdsetsAsync(string opaque, CancellationToken cancellationToken)
    {
        if (PassFds == PassFdsMode.Never || _connection is not QmpConnection { CanPassDescriptors: true } qmp)
        {
            return;
        }

        JsonElement fdsets = await qmp.ExecuteAsync(QmpCommands.QueryFdsets, null, cancellationToken).ConfigureAwait(false);
        foreach (JsonElement fdset in fdsets.EnumerateArray())
        {
            bool ours = fdset.TryGetProperty("fds", out JsonElement fds) && fds.EnumerateArray().Any(fd =>
                fd.TryGetProperty("opaque", out JsonElement o) && o.ValueKind == JsonValueKind.String && o.GetString() == opaque);
            if (ours && fdset.TryGetProperty("fdset-id", out JsonElement id) && id.TryGetInt64(out long fdsetId))
            {
                await RemoveFdsetAsync(qmp, fdsetId, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task TryRemoveFdsetAsync(long? fdset)
    {
        if (fdset is long id && _connection is QmpConnection qmp)
        {
            try
            {
                await RemoveFdsetAsync(qmp, id, CancellationToken.None).ConfigureAwait(false);
            }
            catch (MonitorException)
            {
                // Best effort: the detach or reconcile of this device removes it by its opaque.
            }
        }
    }

    private static async Task RemoveFdsetAsync(QmpConnection qmp, long fdsetId, CancellationToken cancellationToken)
    {
        try
        {
            await qmp.ExecuteAsync(QmpCommands.RemoveFd, w => w.WriteNumber("fdset-id", fdsetId), cancellationToken).ConfigureAwait(false);
        }
        catch (QmpException)
        {
            // Gone already (QEMU frees an fdset whose descriptors were all removed and are unused).
        }
    }

    /// <summary>QEMU could not open the node itself: its error text is strerror(EACCES).</summary>
    private static bool IsPermissionDenied(QmpException e) => e.Description.Contains("Permission denied", StringComparison.Ordinal);
}
