namespace KvmUdevAgent.Core.Rules;

/// <summary>A mapping node with scalar keys, in document order (duplicates are reported, the first kept).</summary>
internal sealed class YamlMapping(SourcePosition position, IReadOnlyList<KeyValuePair<YamlScalar, YamlNode>> entries) : YamlNode(position)
{
    public IReadOnlyList<KeyValuePair<YamlScalar, YamlNode>> Entries { get; } = entries;

    public override string KindName => "a mapping";
}
