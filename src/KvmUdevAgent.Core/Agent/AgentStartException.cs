namespace KvmUdevAgent.Core.Agent;

/// <summary>
/// The daemon cannot start. <see cref="Exception.Message"/> says what to do; <see cref="Details"/>
/// lists every diagnostic (e.g. each rule file error) one per line.
/// </summary>
public sealed class AgentStartException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AgentStartException(string message, IReadOnlyList<string>? details = null, Exception? inner = null)
        : base(message, inner) => Details = details ?? [];

    /// <summary>Creates the exception with no details.</summary>
    public AgentStartException()
        : this("the daemon cannot start")
    {
    }

    /// <summary>Creates the exception with no details.</summary>
    public AgentStartException(string message)
        : this(message, null, null)
    {
    }

    /// <summary>Creates the exception with an inner exception.</summary>
    public AgentStartException(string message, Exception inner)
        : this(message, null, inner)
    {
    }

    /// <summary>Every diagnostic, one per entry, in the order found.</summary>
    public IReadOnlyList<string> Details { get; }
}
