namespace KvmUdevAgent.Core.Tests.Audit;

/// <summary>One SD element as parsed: SD-ID and parameters in order.</summary>
public sealed record ParsedSdElement(string Id, IReadOnlyList<KeyValuePair<string, string>> Params)
{
    public string this[string name] =>
        Params.FirstOrDefault(p => p.Key == name) is { Key: not null } p ? p.Value : throw new KeyNotFoundException($"no parameter {name} in [{Id}]");

    public bool Has(string name) => Params.Any(p => p.Key == name);
}
