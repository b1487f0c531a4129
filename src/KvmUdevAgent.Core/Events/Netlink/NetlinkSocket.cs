using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace KvmUdevAgent.Core.Events.Netlink;

/// <summary>
/// A <c>NETLINK_KOBJECT_UEVENT</c> datagram socket: the one place that calls the native socket API
/// for uevents. Non-blocking and close-on-exec. The receiving thread waits in <see cref="WaitReadable"/>
/// (<c>poll</c> on the socket and an eventfd), so a datagram wakes it directly, without the runtime's
/// epoll thread and thread pool in between; <see cref="Interrupt"/> wakes it for good (netlink has no
/// <c>shutdown</c>, and closing a descriptor another thread blocks on wakes nothing).
/// The socket keeps the network namespace of the thread that created it.
/// </summary>
internal sealed partial class NetlinkSocket : IAsyncDisposable, IDisposable
{
    /// <summary>linux/netlink.h; not in Tmds.LibC.</summary>
    private const int NetlinkKobjectUevent = 15;

    private readonly int _fd;
    private readonly int _wakeFd;
    private int _disposed;

    private NetlinkSocket(int fd, int wakeFd, uint groups)
    {
        _fd = fd;
        _wakeFd = wakeFd;
        Groups = groups;
    }

    /// <summary>The multicast groups this socket receives (0 = send-only).</summary>
    public uint Groups { get; }

    /// <summary>Our port id, assigned by the kernel at bind.</summary>
    public uint PortId { get; private set; }

    /// <summary>The socket's descriptor (tests replace it to provoke a socket error).</summary>
    internal int Descriptor => _fd;

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

        int wakeFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (wakeFd < 0)
        {
            IOException failure = NewException("eventfd");
            _ = close(fd);
            throw failure;
        }

        NetlinkSocket? result = null;
        try
        {
            result = new NetlinkSocket(fd, wakeFd, groups);
            result.Configure(receiveBufferBytes);
            return result;
        }
        catch
        {
            if (result is null)
            {
                _ = close(fd);
                _ = close(wakeFd);
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
    /// Blocks the calling thread until a datagram or an error (<c>ENOBUFS</c>) is queued on the socket:
    /// true, and <see cref="TryReceive"/> tells which; or until <see cref="Interrupt"/> was called:
    /// false, now and on every later call. Only one thread may wait, and the socket must not be
    /// disposed while it does: interrupt it and let it return first. With <paramref name="timeoutMilliseconds"/>, it
    /// waits no longer than that and returns true when the time is up (<see cref="TryReceive"/> then finds nothing).
    /// </summary>
    public unsafe bool WaitReadable(int timeoutMilliseconds = Timeout.Infinite)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        pollfd* fds = stackalloc pollfd[2];
        timespec limit = new() { tv_sec = (time_t)(timeoutMilliseconds / 1000), tv_nsec = (long_t)(timeoutMilliseconds % 1000 * 1_000_000L) };
        while (true)
        {
            fds[0] = new pollfd { fd = _fd, events = (short)POLLIN };
            fds[1] = new pollfd { fd = _wakeFd, events = (short)POLLIN };
            int ready = PPoll(fds, 2, timeoutMilliseconds < 0 ? null : &limit, null);
            if (ready == 0)
            {
                return true;
            }

            if (ready < 0)
            {
                int error = Marshal.GetLastPInvokeError();
                if (error == EINTR)
                {
                    continue;
                }

                throw NewException("ppoll(AF_NETLINK)", error);
            }

            if (fds[1].revents != 0)
            {
                return false;
            }

            if (fds[0].revents != 0)
            {
                return true;
            }
        }
    }

    /// <summary>Makes <see cref="WaitReadable"/> return false, now if a thread waits in it, and from then on. Any thread.</summary>
    public unsafe void Interrupt()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        ulong one = 1;
        // The eventfd stays readable (nobody reads it): every later wait returns at once. Its counter
        // cannot overflow from a handful of writes, so this cannot fail short of EBADF.
        _ = Write(_wakeFd, &one, sizeof(ulong));
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
            _ = close(_fd);
            _ = close(_wakeFd);
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// <c>ppoll</c> with its errno kept: Tmds.LibC 0.5.0 declares its <c>ppoll</c> without
    /// <c>SetLastError</c>, so <c>errno</c> after it is the previous <c>recvmsg</c>'s EAGAIN, and an
    /// EINTR (any signal the runtime handles, landing on this thread) ended the receive loop.
    /// </summary>
    [LibraryImport("libc.so.6", EntryPoint = "ppoll", SetLastError = true)]
    private static unsafe partial int PPoll(pollfd* fds, nuint count, timespec* timeout, sigset_t* mask);

    [LibraryImport("libc.so.6", EntryPoint = "write")]
    private static unsafe partial nint Write(int fd, void* buffer, nuint count);

    private static IOException NewException(string call) => NewException(call, errno);

    private static IOException NewException(string call, int error) =>
        new($"{call} failed: {new System.ComponentModel.Win32Exception(error).Message} (errno {error})", error);
}
