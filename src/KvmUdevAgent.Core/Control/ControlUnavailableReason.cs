namespace KvmUdevAgent.Core.Control;

/// <summary>Why a client could not reach the daemon.</summary>
public enum ControlUnavailableReason
{
    /// <summary>Not a valid value.</summary>
    Unknown = 0,

    /// <summary>There is no socket at the path (the daemon is not running).</summary>
    NoSocket,

    /// <summary>The socket file exists but nothing listens on it (a daemon died without cleaning up).</summary>
    NotListening,

    /// <summary>The socket's mode does not let this user connect.</summary>
    PermissionDenied,

    /// <summary>The daemon did not accept or answer in time.</summary>
    Timeout,

    /// <summary>The connection broke, or the daemon answered with something that is not the protocol.</summary>
    Broken,
}
