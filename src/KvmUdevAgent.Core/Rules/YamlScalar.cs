namespace KvmUdevAgent.Core.Rules;

/// <summary>A scalar; <see cref="IsPlain"/> distinguishes <c>true</c> from <c>"true"</c> and an empty value from <c>""</c>.</summary>
internal sealed class YamlScalar(SourcePosition position, string value, bool isPlain) : YamlNode(position)
{
    public string Value { get; } = value;

    public bool IsPlain { get; } = isPlain;

    /// <summary>A plain empty scalar or <c>~</c>/<c>null</c>: YAML's null.</summary>
    public bool IsNull => IsPlain && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string KindName => IsNull ? "nothing" : "a string";
}
