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
    internal static bool TryParse(ReadOnlySpan<byte> utf8, out UsbId id)
    {
        id = default;
        if (utf8.Length != 4)
        {
            return false;
        }

        int value = 0;
        foreach (byte b in utf8)
        {
            int digit = HexDigit(b);
            if (digit < 0)
            {
                return false;
            }

            value = (value << 4) | digit;
        }

        id = new UsbId((ushort)value);
        return true;
    }

    /// <summary>The value of one ASCII hex digit (either case), or -1.</summary>
    internal static int HexDigit(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>Four lower-case hex digits, as sysfs and udev print them.</summary>
    public override string ToString() => Value.ToString("x4", CultureInfo.InvariantCulture);
}
