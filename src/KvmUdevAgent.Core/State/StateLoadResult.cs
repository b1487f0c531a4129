namespace KvmUdevAgent.Core.State;

/// <summary>What happened when the state file was loaded; the daemon logs it (and audits a <see cref="StateLoadOutcome.Corrupt"/> file).</summary>
public sealed record StateLoadResult
{
    /// <summary>Missing, loaded or corrupt.</summary>
    public required StateLoadOutcome Outcome { get; init; }

    /// <summary>For a corrupt file: where it was moved (<c>state.json.corrupt-yyyyMMddTHHmmssZ</c>); null otherwise, or when moving it failed too.</summary>
    public string? MovedTo { get; init; }

    /// <summary>For a corrupt file: why it was refused (parser message), one line.</summary>
    public string? Reason { get; init; }
}
