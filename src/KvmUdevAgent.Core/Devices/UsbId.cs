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

    /// <summary>
    /// <see cref="TryParse(ReadOnlySpan{char}, out UsbId, out string?)"/> of the UTF-8 text of <paramref name="utf8"/>,
    /// read from the bytes (an event's value, issue 15): only four ASCII hex digits decode to four hex digits.
    /// </summary>
    internal static bool TryParse(ReadOnlySpan<byte> utf8, out UsbId id) =>
        TryParseHex(utf8, 4, 4, out id);

    /// <summary>
    /// <paramref name="minDigits"/> to <paramref name="maxDigits"/> (at most 4) hex digits of either case, as
    /// UTF-8 bytes, with nothing around them.
    /// </summary>
    internal static bool TryParseHex(ReadOnlySpan<byte> utf8, int minDigits, int maxDigits, out UsbId id)
    {
        if (utf8.Length >= minDigits && utf8.Length <= maxDigits &&
            ushort.TryParse(utf8, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort value))
        {
            id = new UsbId(value);
            return true;
        }

        id = default;
        return false;
    }

    /// <summary>Four lower-case hex digits, as sysfs and udev print them.</summary>
    public override string ToString() => Value.ToString("x4", CultureInfo.InvariantCulture);
}
