namespace KvmUdevAgent.Core.Control;

/// <summary>Settings of the <see cref="ControlServer"/>.</summary>
public sealed record ControlServerOptions
{
    /// <summary>Absolute path of the socket (required); its directory must exist. Config key <c>control_socket</c>.</summary>
    public required string SocketPath { get; init; }

    /// <summary>
    /// Gid whose members may use the read-only verbs; the socket is then mode 0660 owned by root and
    /// this group. Null (default): root only, mode 0600. Resolve a name with <see cref="ControlGroup.TryResolve"/>.
    /// </summary>
    public uint? GroupId { get; init; }

    /// <summary>Longest request line accepted, newline excluded. Default 64 KiB; a longer line is answered with <see cref="ControlErrorCodes.RequestTooLong"/> and the connection closed.</summary>
    public int MaxRequestBytes { get; init; } = 64 * 1024;

    /// <summary>
    /// Connections served at once; more are answered with <see cref="ControlErrorCodes.Busy"/> and
    /// closed. One of them is kept for root: other users together get one fewer. Default 16.
    /// </summary>
    public int MaxClients { get; init; } = 16;

    /// <summary>Connections one non-root uid may hold at once; more are answered with <see cref="ControlErrorCodes.Busy"/>. Default 4.</summary>
    public int MaxClientsPerUid { get; init; } = 4;

    /// <summary>
    /// A connection that sends no request for this long is closed; blank lines do not count as
    /// requests. Default 30 s.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A connection is closed this long after it was accepted, however busy (after the answer in
    /// progress, if any). Every CLI command uses a connection of its own. Default 2 min.
    /// </summary>
    public TimeSpan MaxLifetime { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long writing one response may take before the connection is dropped. Default 10 s.</summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to wait for an existing socket to answer before deciding it is stale. Default 1 s.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(1);
}
