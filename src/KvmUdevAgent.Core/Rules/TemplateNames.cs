using System.Collections.Frozen;
using System.Text;
using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.Rules;

/// <summary>The placeholders a template may use; <c>{props.NAME}</c> and <c>{attrs.NAME}</c> take a name.</summary>
internal static class TemplateNames
{
    public const string PropsPrefix = "props.";
    public const string AttrsPrefix = "attrs.";

    public static readonly FrozenDictionary<string, Func<DeviceView, string?>> Simple = new Dictionary<string, Func<DeviceView, string?>>(StringComparer.Ordinal)
    {
        ["vendor"] = static d => d.Identity.Vendor?.ToString(),
        ["product"] = static d => d.Identity.Product?.ToString(),
        ["serial"] = static d => d.Identity.Serial,
        ["fs_label"] = static d => d.Identity.FsLabel,
        ["fs_uuid"] = static d => d.Identity.FsUuid,
        ["fs_type"] = static d => d.Identity.FsType,
        ["kernel"] = static d => d.Kernel,
        ["devnode"] = static d => d.Identity.DevNode,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Every accepted form, for "expected one of" messages and the docs.</summary>
    public static readonly string[] All = [.. Simple.Keys.Order(StringComparer.Ordinal), "props.NAME", "attrs.NAME"];

    public static string? Resolve(DeviceView device, string name)
    {
        if (name.StartsWith(PropsPrefix, StringComparison.Ordinal))
        {
            return device.Event.GetString(name[PropsPrefix.Length..]);
        }

        if (name.StartsWith(AttrsPrefix, StringComparison.Ordinal))
        {
            string attribute = name[AttrsPrefix.Length..];
            for (SysfsDevice? d = device.Sysfs; d is not null; d = d.Parent)
            {
                if (d.TryGetAttribute(attribute, out string value))
                {
                    return value;
                }
            }

            return null;
        }

        return Simple.TryGetValue(name, out var accessor) ? accessor(device) : null;
    }

    public static bool IsKnown(string name) =>
        Simple.ContainsKey(name)
        || (name.StartsWith(PropsPrefix, StringComparison.Ordinal) && name.Length > PropsPrefix.Length && IsPlainName(name.AsSpan(PropsPrefix.Length)))
        || (name.StartsWith(AttrsPrefix, StringComparison.Ordinal) && name.Length > AttrsPrefix.Length && IsPlainName(name.AsSpan(AttrsPrefix.Length)));

    /// <summary>Attribute and property names: letters, digits, <c>_ - . :</c>; never a path.</summary>
    public static bool IsPlainName(ReadOnlySpan<char> name)
    {
        if (name.Length == 0 || name is "." or "..")
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ':'))
            {
                return false;
            }
        }

        return true;
    }

    internal static string Describe() => new StringBuilder().AppendJoin(", ", All.Select(n => "{" + n + "}")).ToString();
}
