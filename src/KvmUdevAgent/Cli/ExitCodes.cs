namespace KvmUdevAgent.Cli;

/// <summary>Process exit codes; the values follow sysexits.h where one fits.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The operation failed, or validation found errors.</summary>
    public const int Failure = 1;

    /// <summary>Validation found warnings only (with <c>--strict</c>).</summary>
    public const int Warnings = 2;

    /// <summary>EX_USAGE: the command line was wrong.</summary>
    public const int Usage = 64;

    /// <summary>EX_DATAERR: input data (a record file, a rule file) was malformed.</summary>
    public const int DataError = 65;

    /// <summary>EX_NOINPUT: a named file or device does not exist.</summary>
    public const int NoInput = 66;

    /// <summary>EX_UNAVAILABLE: the daemon (or a VM monitor) is not reachable.</summary>
    public const int Unavailable = 69;

    /// <summary>EX_TEMPFAIL: busy now (the VM is already migrating); try again later.</summary>
    public const int TempFail = 75;

    /// <summary>EX_NOPERM: not allowed (not root, refused by the daemon).</summary>
    public const int NoPermission = 77;

    /// <summary>EX_CONFIG: the configuration file is invalid.</summary>
    public const int Config = 78;

    /// <summary>Interrupted by SIGINT (128 + 2), after a clean shutdown.</summary>
    public const int Interrupted = 130;
}
