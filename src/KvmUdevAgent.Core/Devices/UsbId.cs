using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace KvmUdevAgent.Core.Devices;

/// <summary>A USB vendor or product id: exactly four hex digits on the wire, printed lower-case.</summary>
public readonly record struct UsbId(ushort Value)
{
    /// <summary>Parses exactly four hex digits (either case). Anything else is refused with a reason.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out UsbId id, [NotNullWhen(false)] out string? reason)
    {
        id = default;
        if (text.Length != 4)
        {
            reason = "expected exactly 4 hex digits";
            return false;
        }

        foreach (char c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                reason = "expected exactly 4 hex digits";
                return false;
            }
        }

        id = new UsbId(ushort.Parse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
        reason = null;
        return true;
    }

    /// <summary>Four lower-case hex digits, as sysfs and udev print them.</summary>
    public override string ToString() => Value.ToString("x4", CultureInfo.InvariantCulture);
}
