using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;

namespace KvmUdevAgent.Core.Control;

public sealed partial class ControlServer
{
    // sun_path is 108 bytes including the terminating NUL.
    private const int MaxSocketPathBytes = 107;

    /// <summary>True if a stale socket file is in the way (nothing answers); false if there is none.</summary>
    private static async Task<bool> ProbeExistingAsync(ControlServerOptions options, CancellationToken cancellationToken)
    {
        string path = options.SocketPath;
        if (!TryLstat(path, out stat st))
        {
            return false;
        }

        if (((uint)(ushort)(st.st_mode & LibC.S_IFMT)) != (uint)(ushort)LibC.S_IFSOCK)
        {
            throw new ControlSocketInUseException($"{path} exists and is not a socket; refusing to replace it. Remove it or set control_socket to another path");
        }

        using Socket probe = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using CancellationTokenSource timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ProbeTimeout);
        try
        {
            await probe.ConnectAsync(new UnixDomainSocketEndPoint(path), timeout.Token).ConfigureAwait(false);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressNotAvailable || ex.NativeErrorCode == LibC.ENOENT)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ControlSocketInUseException($"something is listening on {path} but does not accept connections; is another kvm-udev-agent hung? Refusing to start");
        }

        throw new ControlSocketInUseException($"another kvm-udev-agent is already running: it answers on {path}. Stop it first ('systemctl stop kvm-udev-agent') or set control_socket to another path");
    }

    private static (Socket Listener, SocketIdentity Identity) Bind(ControlServerOptions options)
    {
        string path = options.SocketPath;
        string directory = Path.GetDirectoryName(path) ?? "/";
        // A dot name in the same directory: rename(2) then swaps it into place atomically, also
        // over a stale socket, and the socket is never reachable at its real path with a wider mode.
        string temp = Path.Combine(directory, "." + Path.GetFileName(path) + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".tmp");
        if (Encoding.UTF8.GetByteCount(path) > MaxSocketPathBytes || Encoding.UTF8.GetByteCount(temp) > MaxSocketPathBytes)
        {
            throw new IOException($"the control socket path {path} is too long for a unix socket (at most {MaxSocketPathBytes - 10} bytes are safe); choose a shorter control_socket");
        }

        if (!Directory.Exists(directory))
        {
            throw new IOException($"the directory of the control socket {path} does not exist");
        }

        DeleteIfSocket(temp);
        Socket listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(temp));
            ApplyModeAndOwner(temp, options.GroupId);
            listener.Listen(64);
            File.Move(temp, path, overwrite: true);
            if (!TryLstat(path, out stat st))
            {
                throw new IOException($"the control socket {path} vanished right after it was created");
            }

            return (listener, new SocketIdentity(st.st_dev, st.st_ino));
        }
        catch
        {
            listener.Dispose();
            DeleteIfSocket(temp);
            throw;
        }
    }

    private static unsafe void ApplyModeAndOwner(string path, uint? groupId)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The control socket works on Linux only.");
        }

        if (groupId is uint gid)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
            fixed (byte* p = bytes)
            {
                // uid -1 keeps the owner (root).
                if (LibC.chown(p, uint.MaxValue, gid) < 0)
                {
                    throw new IOException($"chown {path} to gid {gid}: {Marshal.GetPInvokeErrorMessage(LibC.errno)}");
                }
            }

            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        }
        else
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private static void RemoveSocketFileIfOurs(string path, SocketIdentity identity)
    {
        // Another daemon may have replaced the file meanwhile (after an operator removed ours):
        // never delete a socket that is not the one we bound.
        if (TryLstat(path, out stat st) && identity == new SocketIdentity(st.st_dev, st.st_ino))
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Best effort: a leftover socket is detected as stale at the next start.
            }
        }
    }

    private static void DeleteIfSocket(string path)
    {
        if (TryLstat(path, out stat st) && ((uint)(ushort)(st.st_mode & LibC.S_IFMT)) == (uint)(ushort)LibC.S_IFSOCK)
        {
            File.Delete(path);
        }
    }

    private static unsafe bool TryLstat(string path, out stat st)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        stat result;
        int rc;
        fixed (byte* p = bytes)
        {
            rc = LibC.lstat(p, &result);
        }

        st = result;
        return rc == 0;
    }

    private readonly record struct SocketIdentity(ulong Device, ulong Inode);
}
