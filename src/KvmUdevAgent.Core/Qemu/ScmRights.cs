using System.Net.Sockets;
using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// Sends bytes with one file descriptor attached (<c>SCM_RIGHTS</c>) on a unix stream socket: how
/// QMP's <c>add-fd</c> and <c>getfd</c> receive a descriptor. The only native call of fd passing.
/// </summary>
internal static partial class ScmRights
{
    private const int PollTimeoutMs = 5000;

    /// <summary>
    /// Writes <paramref name="data"/> with <paramref name="descriptor"/> attached to its first byte;
    /// returns how many bytes went (the caller writes the rest normally). Waits for room when the
    /// socket buffer is full.
    /// </summary>
    /// <exception cref="IOException">The kernel refused (the peer is gone, or the socket is not a unix socket).</exception>
    public static unsafe int Send(Socket socket, ReadOnlySpan<byte> data, SafeHandle descriptor)
    {
        bool added = false;
        descriptor.DangerousAddRef(ref added);
        try
        {
            int fd = (int)socket.SafeHandle.DangerousGetHandle();
            int passed = (int)descriptor.DangerousGetHandle();
            int controlLength = CMSG_SPACE(sizeof(int));
            byte* control = stackalloc byte[controlLength];
            new Span<byte>(control, controlLength).Clear();
            fixed (byte* bytes = data)
            {
                while (true)
                {
                    iovec iov = new() { iov_base = bytes, iov_len = data.Length };
                    msghdr message = new()
                    {
                        msg_iov = &iov,
                        msg_iovlen = 1,
                        msg_control = control,
                        msg_controllen = (uint)controlLength,
                    };
                    cmsghdr* header = CMSG_FIRSTHDR(&message);
                    header->cmsg_level = SOL_SOCKET;
                    header->cmsg_type = SCM_RIGHTS;
                    // Exactly one int: Tmds.LibC 0.5.0's CMSG_LEN rounds up, and the kernel would read
                    // the padding as a second descriptor (fd 0).
                    header->cmsg_len = (uint)(sizeof(cmsghdr) + sizeof(int));
                    *(int*)CMSG_DATA(header) = passed;
                    long n = sendmsg(fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
                    if (n >= 0)
                    {
                        return (int)n;
                    }

                    int error = errno;
                    if (error == EINTR)
                    {
                        continue;
                    }

                    if (error == EAGAIN)
                    {
                        pollfd wait = new() { fd = fd, events = POLLOUT };
                        int ready = Poll(&wait, 1, PollTimeoutMs);
                        if (ready == 0)
                        {
                            throw new IOException("sendmsg(SCM_RIGHTS): the monitor socket stayed full for 5 s");
                        }

                        if (ready < 0)
                        {
                            int pollError = Marshal.GetLastPInvokeError();
                            if (pollError != EINTR)
                            {
                                throw new IOException("poll(SCM_RIGHTS socket): " + Marshal.GetPInvokeErrorMessage(pollError));
                            }
                        }

                        continue;
                    }

                    throw new IOException("sendmsg(SCM_RIGHTS): " + Marshal.GetPInvokeErrorMessage(error));
                }
            }
        }
        finally
        {
            if (added)
            {
                descriptor.DangerousRelease();
            }
        }
    }

    /// <summary><c>poll</c> with its errno kept (Tmds.LibC 0.5.0 declares its own without <c>SetLastError</c>).</summary>
    [LibraryImport("libc.so.6", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(pollfd* fds, nuint count, int timeoutMs);
}
