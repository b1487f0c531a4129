using System.Text;
using CsCheck;

namespace KvmUdevAgent.Core.Tests.Devices;

/// <summary>
/// Device strings as an attacker (or a broken device) makes them: newlines, quotes, <c>;</c>,
/// <c>$(…)</c>, backticks, <c>../</c>, control characters (never NUL: sysfs and netlink cannot carry
/// it), shell, HMP and QMP syntax, bidi overrides, Unicode noncharacters (QEMU's JSON parser refuses
/// them), what invalid UTF-8 becomes after decoding
/// (U+FFFD), and now and then a 64 KiB value. Shared by the component tests and the daemon tests.
/// </summary>
internal static class HostileStrings
{
    public static readonly string[] Fragments =
    [
        "\n", "\r\n", "\r", "\"", "'", ";", "$(touch /tmp/kua-pwned)", "`id`", "${IFS}", "../", "..", "/", "\\", "\t", "\v", "\f",
        "\u0001", "\u001b[31m", "\u007f", "\u0085", "%s%n", "{serial}", "{props.ID_MODEL}", ",", "=", " ", "-", "--help", "*", "?", "[a]",
        "ü", "日本語", "\u202e", "\u2028", "\u2029", "\u200b", "😀", "\ufffd", "\ufeff", "\ufffe", "\uffff", "\ufdd0",
        "device_add usb-kbd,id=pwn", "\ndevice_add usb-kbd,id=pwn\n", "\nquit\n", "{\"execute\":\"quit\"}", "\"}\n{\"execute\":\"quit\"}",
        "]", "[", "kua@32473 x=\"1\"", "\\]", "<13>1 - - - - -", "/dev/sda", "-o exec", "&&", "|", ">", "<", "#", "~",
    ];

    private static readonly Gen<string> s_fragment = Gen.OneOf(Fragments);

    private static readonly Gen<string> s_printable = Gen.Char[' ', '~'].Array[0, 12].Select(a => new string(a));

    private static readonly Gen<string> s_control = Gen.Char['\u0001', '\u001f'].Array[1, 4].Select(a => new string(a));

    // What the agent sees of invalid UTF-8: it decodes sysfs and netlink bytes with replacement.
    private static readonly Gen<string> s_decodedBytes = Gen.Byte[1, 255].Array[1, 24].Select(b => Encoding.UTF8.GetString(b));

    /// <summary>A hostile string of 1 to a few hundred characters, or (rarely) 64 KiB; never empty, never NUL.</summary>
    public static readonly Gen<string> Any = Gen.Frequency(
        (60, Gen.Frequency((4, s_fragment), (2, s_printable), (2, s_control), (2, s_decodedBytes)).Array[1, 12].Select(parts => string.Concat(parts))),
        (1, s_fragment.Select(Gen.Int[0, 1], (f, pad) => Big(f + (pad == 0 ? "x" : "\n")))))
        .Where(s => s.Length > 0);

    /// <summary>Like <see cref="Any"/>, but never longer than a USB string descriptor can be (126 UTF-16 units).</summary>
    public static readonly Gen<string> Short = Gen.Frequency((4, s_fragment), (2, s_printable), (2, s_control), (2, s_decodedBytes))
        .Array[1, 8].Select(parts => string.Concat(parts)).Select(s => s.Length > 126 ? s[..126] : s)
        .Where(s => s.Length > 0 && !char.IsHighSurrogate(s[^1]));

    /// <summary>A 64 KiB value made of <paramref name="unit"/> repeated.</summary>
    public static string Big(string unit)
    {
        var sb = new StringBuilder(65_536 + unit.Length);
        while (sb.Length < 65_536)
        {
            sb.Append(unit);
        }

        return sb.ToString(0, 65_536 - (char.IsHighSurrogate(sb[65_535]) ? 1 : 0));
    }
}
