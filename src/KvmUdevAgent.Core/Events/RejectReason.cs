namespace KvmUdevAgent.Core.Events;

/// <summary>
/// Why a received datagram was dropped. The parser's reasons are listed in the order it checks
/// them; the sender-trust reasons are decided by the source before parsing.
/// </summary>
public enum RejectReason
{
    /// <summary>Not rejected.</summary>
    None = 0,

    /// <summary>Shorter than the smallest valid message (32 bytes, as systemd requires), or than the libudev header.</summary>
    TooShort,

    /// <summary>The datagram did not fit the receive buffer (<c>MSG_TRUNC</c>).</summary>
    Truncated,

    /// <summary>The last byte is not NUL.</summary>
    NotNulTerminated,

    /// <summary>The other format than the source sends: a kernel message on the udev group or a libudev message on the kernel group.</summary>
    UnexpectedFormat,

    /// <summary><c>libudev\0</c> prefix without the big-endian magic <c>0xfeedcafe</c>.</summary>
    BadMagic,

    /// <summary>The libudev header's <c>properties_off</c>/<c>properties_len</c> point outside the datagram or into the header.</summary>
    BadPropertiesBounds,

    /// <summary>The kernel header is not <c>ACTION@/DEVPATH</c>, or nothing follows it.</summary>
    BadKernelHeader,

    /// <summary>An entry that is not <c>KEY=VALUE</c> with a non-empty key, or properties not ending in NUL.</summary>
    MalformedProperty,

    /// <summary>No (or an empty) <c>ACTION</c>.</summary>
    MissingAction,

    /// <summary>No (or an empty) <c>DEVPATH</c>.</summary>
    MissingDevPath,

    /// <summary>No (or an empty) <c>SUBSYSTEM</c>.</summary>
    MissingSubsystem,

    /// <summary>On the kernel group, a sender whose netlink port id is not 0: a user-space process, not the kernel.</summary>
    Spoofed,

    /// <summary>On the udev group, no <c>SCM_CREDENTIALS</c> control message came with the datagram.</summary>
    MissingCredentials,

    /// <summary>On the udev group, the sender's uid is not 0.</summary>
    UntrustedSender,
}
