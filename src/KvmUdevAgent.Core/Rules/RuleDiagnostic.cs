using System.Globalization;

namespace KvmUdevAgent.Core.Rules;

/// <summary>One finding about a rule file, with a 1-based position (0 when the whole file is meant).</summary>
internal sealed record RuleDiagnostic(string File, int Line, int Column, Severity Severity, string Code, string Message)
{
    /// <summary><c>file:line:col: error: message [code]</c>, the shape compilers and <c>udevadm verify</c> use.</summary>
    public override string ToString()
    {
        string severity = Severity switch
        {
            Severity.Error => "error",
            Severity.Warning => "warning",
            _ => "style",
        };
        return Line > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{File}:{Line}:{Column}: {severity}: {Message} [{Code}]")
            : string.Create(CultureInfo.InvariantCulture, $"{File}: {severity}: {Message} [{Code}]");
    }
}
