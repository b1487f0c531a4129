namespace KvmUdevAgent.Core.Rules;

/// <summary>How bad a rule diagnostic is. Errors stop a load; warnings and style notes do not.</summary>
internal enum Severity
{
    Error,
    Warning,
    Style,
}
