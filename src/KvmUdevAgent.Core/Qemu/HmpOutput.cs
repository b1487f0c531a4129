using System.Text;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// Turns what QEMU writes back on a socket HMP monitor into the command's output lines. QEMU's
/// readline echoes the command as it is "typed", redrawing the line after each character with
/// <c>ESC[K</c> and <c>ESC[D</c> sequences (quadratic in the command's length), then
/// <c>\r\n</c>, the output, and the <c>(qemu) </c> prompt. The echo never contains a line break
/// (we send one line), so the output starts after the first <c>\r\n</c>.
/// </summary>
internal static class HmpOutput
{
    public static ReadOnlySpan<byte> Prompt => "(qemu) "u8;

    public static IReadOnlyList<string> Parse(ReadOnlySpan<byte> answer)
    {
        if (answer.EndsWith(Prompt))
        {
            answer = answer[..^Prompt.Length];
        }

        int firstBreak = answer.IndexOf("\r\n"u8);
        if (firstBreak < 0)
        {
            return [];
        }

        string text = StripEscapes(answer[(firstBreak + 2)..]);
        var lines = new List<string>();
        foreach (string line in text.Split('\n'))
        {
            string trimmed = line.TrimEnd('\r');
            lines.Add(trimmed);
        }

        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }

    /// <summary>Removes ANSI CSI sequences (<c>ESC [ params letter</c>) and two-byte escapes.</summary>
    internal static string StripEscapes(ReadOnlySpan<byte> text)
    {
        var builder = new StringBuilder(text.Length);
        string decoded = Encoding.UTF8.GetString(text);
        for (int i = 0; i < decoded.Length; i++)
        {
            char c = decoded[i];
            if (c != '\x1b')
            {
                builder.Append(c);
                continue;
            }

            if (i + 1 < decoded.Length && decoded[i + 1] == '[')
            {
                i += 2;
                while (i < decoded.Length && !(decoded[i] >= '@' && decoded[i] <= '~'))
                {
                    i++;
                }
            }
            else
            {
                i++;
            }
        }

        return builder.ToString();
    }
}
