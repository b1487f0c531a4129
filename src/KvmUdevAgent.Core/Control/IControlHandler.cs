namespace KvmUdevAgent.Core.Control;

/// <summary>
/// Carries out control verbs; the daemon implements it. The server has already checked the peer,
/// so a call only arrives for a verb the peer may use. Calls from different connections run
/// concurrently; calls on one connection run one after another.
/// </summary>
public interface IControlHandler
{
    /// <summary>
    /// Answers <paramref name="request"/>. Throw <see cref="ControlException"/> for a specific error;
    /// any other exception becomes <see cref="ControlErrorCodes.Internal"/> and the server goes on.
    /// </summary>
    /// <param name="request">The verb, its arguments and the peer.</param>
    /// <param name="cancellationToken">Cancelled when the server stops.</param>
    ValueTask<ControlResult> HandleAsync(ControlRequest request, CancellationToken cancellationToken);
}
