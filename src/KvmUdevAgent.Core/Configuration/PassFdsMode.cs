namespace KvmUdevAgent.Core.Configuration;

/// <summary>The per-VM <c>pass_fds:</c> setting: whether the agent opens device nodes itself and passes the descriptor to QEMU.</summary>
public enum PassFdsMode
{
    /// <summary>Not a valid value.</summary>
    Unknown = 0,
    /// <summary>
    /// Pass descriptors when the QEMU behind a unix-socket monitor does not run as root, and retry
    /// with a descriptor when QEMU answers "Permission denied". The default.
    /// </summary>
    Auto,
    /// <summary>Always pass descriptors (<c>pass_fds: true</c>); needs a QMP monitor on a unix socket.</summary>
    Always,
    /// <summary>Never pass descriptors (<c>pass_fds: false</c>): QEMU opens the device node by path.</summary>
    Never,
}
