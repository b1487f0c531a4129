namespace KvmUdevAgent.Core.Audit;

/// <summary>
/// One SD element. <paramref name="Name"/> is the SD-ID without <c>@</c>; the formatter appends
/// <c>@</c> and the configured private enterprise number.
/// </summary>
internal sealed record SdElement(string Name, IReadOnlyList<KeyValuePair<string, string>> Params);
