namespace KvmUdevAgent.Core.Rules;

/// <summary>A sequence node.</summary>
internal sealed class YamlSequence(SourcePosition position, IReadOnlyList<YamlNode> items) : YamlNode(position)
{
    public IReadOnlyList<YamlNode> Items { get; } = items;

    public override string KindName => "a list";
}
