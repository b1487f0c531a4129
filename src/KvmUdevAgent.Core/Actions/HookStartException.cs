namespace KvmUdevAgent.Core.Actions;

/// <summary>The hook could not be spawned (posix_spawn, pipe or pidfd failed); the message names the errno.</summary>
internal sealed class HookStartException : Exception
{
    public HookStartException()
    {
    }

    public HookStartException(string message)
        : base(message)
    {
    }

    public HookStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public HookStartException(string operation, int errno)
        : base($"{operation} failed: {Describe(errno)}")
    {
        Errno = errno;
    }

    public int Errno { get; }

    private static string Describe(int errno) => errno switch
    {
        2 => "ENOENT (no such file)",
        8 => "ENOEXEC (not an executable format; a script needs a #! line)",
        13 => "EACCES (permission denied)",
        _ => $"errno {errno}",
    };
}
