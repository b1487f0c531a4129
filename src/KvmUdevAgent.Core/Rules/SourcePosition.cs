namespace KvmUdevAgent.Core.Rules;

/// <summary>Where a YAML node starts: 1-based line and column, as YamlDotNet's <c>Mark</c>.</summary>
internal readonly record struct SourcePosition(int Line, int Column)
{
    public static SourcePosition None => default;
}
