using System.Net.Sockets;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace KvmUdevAgent.Core.Events.Netlink;

/// <summary>
/// A <c>NETLINK_KOBJECT_UEVENT</c> datagram socket: the one place that calls the native socket API
/// for uevents. Non-blocking and close-on-exec; readiness comes from a zero-byte
/// <see cref="Socket.ReceiveAsync(Memory{byte}, SocketFlags, CancellationToken)"/> (the runtime's epoll
/// engine, which peeks one byte and so consumes nothing), then <c>recvmsg</c> runs synchronously.
/// The socket keeps the network namespace of the thread that created it.
/// </summary>
internal sealed class NetlinkSocket : IAsyncDisposable, IDisposable
{
    /// <summary>linux/netlink.h; not in Tmds.LibC.</summary>
    private const int NetlinkKobjectUevent = 15;

    private readonly Socket _socket;
    private readonly int _fd;
    private int _disposed;

    private NetlinkSocket(int fd, uint groups)
    {
        _fd = fd;
        Groups = groups;
        _socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
    }

    /// <summary>The multicast groups this socket receives (0 = send-only).</summary>
    public uint Groups { get; }

    /// <summary>Our port id, assigned by the kernel at bind.</summary>
    public uint PortId { get; private set; }

    /// <summary>The receive buffer the kernel granted, as <c>getsockopt(SO_RCVBUF)</c> reports it (twice what was asked).</summary>
    public int ReceiveBufferBytes { get; private set; }

    /// <summary>
    /// Opens a socket bound to <paramref name="groups"/>. <paramref name="receiveBufferBytes"/> is set with
    /// <c>SO_RCVBUFFORCE</c> (needs CAP_NET_ADMIN), falling back to <c>SO_RCVBUF</c> (capped at
    /// <c>net.core.rmem_max</c>); 0 keeps the default. Receiving needs no privilege; sending to a group does.
    /// </summary>
    public static unsafe NetlinkSocket Open(uint groups, int receiveBufferBytes = 0)
    {
        int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NetlinkKobjectUevent);
        if (fd < 0)
        {
            throw NewException("socket(AF_NETLINK)");
        }

        NetlinkSocket? result = null;
        try
        {
            result = new NetlinkSocket(fd, groups);
            result.Configure(receiveBufferBytes);
            return result;
        }
        catch
        {
            if (result is null)
            {
                _ = close(fd);
            }
            else
            {
                result.Dispose();
            }

            throw;
        }
    }

    private unsafe void Configure(int receiveBufferBytes)
    {
        int one = 1;
        if (setsockopt(_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(int)) < 0)
        {
            throw NewException("setsockopt(SO_PASSCRED)");
        }

        if (receiveBufferBytes > 0)
        {
            int size = receiveBufferBytes;
            if (setsockopt(_fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(int)) < 0 &&
                setsockopt(_fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(int)) < 0)
            {
                throw NewException("setsockopt(SO_RCVBUF)");
            }
        }

        SockaddrNl address = new() { Family = (ushort)AF_NETLINK, Groups = Groups };
        if (bind(_fd, (sockaddr*)&address, (uint)sizeof(SockaddrNl)) < 0)
        {
            throw NewException("bind(AF_NETLINK)");
        }

        SockaddrNl bound = default;
        socklen_t length = (uint)sizeof(SockaddrNl);
        if (getsockname(_fd, (sockaddr*)&bound, &length) < 0)
        {
            throw NewException("getsockname(AF_NETLINK)");
        }

        PortId = bound.Pid;
        int granted = 0;
        socklen_t grantedLength = sizeof(int);
        ReceiveBufferBytes = getsockopt(_fd, SOL_SOCKET, SO_RCVBUF, &granted, &grantedLength) == 0 ? granted : 0;
    }

    /// <summary>
    /// Waits for and receives the next datagram into <paramref name="buffer"/>, or reports an overrun.
    /// Loops on <c>EAGAIN</c>/<c>EINTR</c>; throws <see cref="OperationCanceledException"/> when cancelled
    /// and <see cref="IOException"/> on socket errors other than <c>ENOBUFS</c>.
    /// </summary>
    public async ValueTask<NetlinkReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TryReceive(buffer.Span, out NetlinkReceiveResult result))
            {
                return result;
            }

            try
            {
                await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.NoBufferSpaceAvailable)
            {
                // The runtime's one-byte peek collected the pending ENOBUFS for us.
                return NetlinkReceiveResult.Overrun;
            }
        }
    }

    /// <summary>One non-blocking <c>recvmsg</c>; false when no datagram is queued (<c>EAGAIN</c>).</summary>
    public unsafe bool TryReceive(Span<byte> buffer, out NetlinkReceiveResult result)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        int controlLength = CMSG_SPACE(sizeof(ucred));
        byte* control = stackalloc byte[controlLength];
        fixed (byte* data = buffer)
        {
            while (true)
            {
                SockaddrNl sender = default;
                iovec iov = new() { iov_base = data, iov_len = buffer.Length };
                msghdr message = new()
                {
                    msg_name = &sender,
                    msg_namelen = (uint)sizeof(SockaddrNl),
                    msg_iov = &iov,
                    msg_iovlen = 1,
                    msg_control = control,
                    msg_controllen = (uint)controlLength,
                };

                // MSG_TRUNC makes recvmsg return the real datagram length, so truncation is detectable.
                long n = recvmsg(_fd, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT | MSG_TRUNC);
                if (n < 0)
                {
                    int error = errno;
                    if (error == EINTR)
                    {
                        continue;
                    }

                    if (error == EAGAIN)
                    {
                        result = default;
                        return false;
                    }

                    if (error == ENOBUFS)
                    {
                        result = NetlinkReceiveResult.Overrun;
                        return true;
                    }

                    throw NewException("recvmsg(AF_NETLINK)", error);
                }

                bool hasCredentials = false;
                uint uid = 0;
                for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != null; c = CMSG_NXTHDR(&message, c))
                {
                    // Not CMSG_LEN: Tmds.LibC 0.5.0 rounds it up (32 for a 12-byte ucred), the kernel reports 28.
                    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= (uint)(sizeof(cmsghdr) + sizeof(ucred)))
                    {
                        hasCredentials = true;
                        uid = ((ucred*)CMSG_DATA(c))->uid;
                    }
                }

                bool truncated = n > buffer.Length || (message.msg_flags & MSG_TRUNC) != 0;
                result = new NetlinkReceiveResult((int)Math.Min(n, buffer.Length), sender.Pid, sender.Groups, hasCredentials, uid, truncated, Overflow: false);
                return true;
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="datagram"/> to multicast <paramref name="group"/> of this socket's network
    /// namespace (root only, CAP_NET_ADMIN). The kernel attaches the calling thread's credentials.
    /// Throws <see cref="IOException"/> on failure.
    /// </summary>
    public unsafe void Send(ReadOnlySpan<byte> datagram, uint group)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        SockaddrNl destination = new() { Family = (ushort)AF_NETLINK, Groups = group };
        fixed (byte* data = datagram)
        {
            while (true)
            {
                long n = sendto(_fd, data, datagram.Length, 0, (sockaddr*)&destination, (uint)sizeof(SockaddrNl));
                if (n >= 0)
                {
                    return;
                }

                int error = errno;
                if (error == EINTR)
                {
                    continue;
                }

                // After the multicast, netlink also unicasts to port 0, the kernel, whose uevent socket takes
                // no input: ECONNREFUSED means the broadcast went out (systemd expects it the same way).
                if (error == ECONNREFUSED)
                {
                    return;
                }

                throw NewException("sendto(AF_NETLINK)", error);
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _socket.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static IOException NewException(string call) => NewException(call, errno);

    private static IOException NewException(string call, int error) =>
        new($"{call} failed: {new System.ComponentModel.Win32Exception(error).Message} (errno {error})", error);
}
