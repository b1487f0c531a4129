namespace KvmUdevAgent.Core.Qemu;

/// <summary>One entry of <c>qom-list</c>: a property or child name and its QOM type (<c>child&lt;usb-host&gt;</c>, <c>string</c>, ...).</summary>
internal readonly record struct QomProperty(string Name, string Type)
{
    private const string ChildPrefix = "child<";

    /// <summary>For a <c>child&lt;T&gt;</c> entry, T (the device's driver); otherwise null.</summary>
    public string? ChildType =>
        Type.StartsWith(ChildPrefix, StringComparison.Ordinal) && Type.EndsWith('>') ? Type[ChildPrefix.Length..^1] : null;
}
