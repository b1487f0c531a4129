namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// A YAML node with its position, built from YamlDotNet parser events (AOT-safe, unlike the
/// reflection deserializer). Only what rule files need: scalars, sequences, mappings.
/// </summary>
internal abstract class YamlNode(SourcePosition position)
{
    public SourcePosition Position { get; } = position;

    public abstract string KindName { get; }
}
