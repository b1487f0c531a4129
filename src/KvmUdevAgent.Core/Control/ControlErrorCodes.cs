namespace KvmUdevAgent.Core.Control;

/// <summary>The <c>error.code</c> values of the protocol, verbatim.</summary>
public static class ControlErrorCodes
{
    /// <summary>The peer may not use this verb (not root, or not in the control group).</summary>
    public const string Forbidden = "forbidden";

    /// <summary>The request line is not a JSON object with a string <c>verb</c> (and an object <c>args</c> if any).</summary>
    public const string BadRequest = "bad_request";

    /// <summary>The request line is longer than the server accepts; the connection is closed after this answer.</summary>
    public const string RequestTooLong = "request_too_long";

    /// <summary>No such verb.</summary>
    public const string UnknownVerb = "unknown_verb";

    /// <summary>An argument is missing or invalid (the handler says which).</summary>
    public const string InvalidArgument = "invalid_argument";

    /// <summary>The named device, VM or rule does not exist.</summary>
    public const string NotFound = "not_found";

    /// <summary>The new rules have errors; the daemon keeps the previous rules.</summary>
    public const string InvalidRules = "invalid_rules";

    /// <summary>Too many clients are connected; try again.</summary>
    public const string Busy = "busy";

    /// <summary>The daemon is shutting down.</summary>
    public const string ShuttingDown = "shutting_down";

    /// <summary>The action was tried and failed (QEMU refused, mount failed, ...).</summary>
    public const string Failed = "failed";

    /// <summary>The VM's monitor does not answer, or another client holds it for too long.</summary>
    public const string MonitorUnavailable = "monitor_unavailable";

    /// <summary>A bug: the handler threw something unexpected.</summary>
    public const string Internal = "internal";
}
