namespace KvmUdevAgent.Core.Configuration;

/// <summary>
/// One problem found in the configuration file, with its position (1-based line and column).
/// Printed as <c>file:line:column: error: message</c>, the format compilers and systemd use.
/// </summary>
/// <param name="File">The file the problem is in.</param>
/// <param name="Line">1-based line; 0 when the problem is with the file as a whole.</param>
/// <param name="Column">1-based column; 0 when unknown.</param>
/// <param name="IsError">True for errors (the file is refused), false for warnings.</param>
/// <param name="Code">Stable short code, e.g. <c>unknown-key</c>.</param>
/// <param name="Message">What is wrong and what was expected.</param>
public sealed record ConfigDiagnostic(string File, int Line, int Column, bool IsError, string Code, string Message)
{
    /// <inheritdoc />
    public override string ToString() =>
        Line > 0 ? $"{File}:{Line}:{Column}: {(IsError ? "error" : "warning")}: {Message}" : $"{File}: {(IsError ? "error" : "warning")}: {Message}";
}
