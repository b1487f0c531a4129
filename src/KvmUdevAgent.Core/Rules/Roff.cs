using System.Text;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// The small part of roff (man(7) macros) the generated manual pages use, with the escaping
/// groff needs: <c>\</c> as <c>\e</c>, a leading <c>.</c> or <c>'</c> guarded by <c>\&amp;</c> (it would
/// start a request), <c>-</c> in literal text as <c>\-</c> (a minus, so options can be searched
/// and copied), and the few non-ASCII characters the sources hold as named glyphs.
/// </summary>
internal static class Roff
{
    /// <summary>Escapes running text; <c>`code`</c> spans become bold literals.</summary>
    public static string Text(string text)
    {
        var roff = new StringBuilder(text.Length + 16);
        string[] parts = text.Split('`');
        for (int i = 0; i < parts.Length; i++)
        {
            // Odd parts were between backticks (an unpaired trailing backtick stays as text).
            bool code = i % 2 == 1 && i < parts.Length - 1;
            if (i % 2 == 1 && !code)
            {
                roff.Append('`');
            }

            roff.Append(code ? Bold(parts[i]) : Escape(parts[i], literal: false));
        }

        return GuardLineStart(roff.ToString());
    }

    /// <summary>A literal (command, option, path, value) in bold.</summary>
    public static string Bold(string literal) => @"\fB" + Escape(literal, literal: true) + @"\fR";

    /// <summary>A placeholder (FILE, NAME) in italics.</summary>
    public static string Italic(string placeholder) => @"\fI" + Escape(placeholder, literal: true) + @"\fR";

    /// <summary>A line of a no-fill (<c>.nf</c>) block, kept as written.</summary>
    public static string Literal(string line) => GuardLineStart(Escape(line, literal: true));

    /// <summary>Escapes <paramref name="text"/>; in a literal every <c>-</c> is a minus sign.</summary>
    public static string Escape(string text, bool literal)
    {
        var roff = new StringBuilder(text.Length + 8);
        foreach (char c in text)
        {
            roff.Append(c switch
            {
                '\\' => @"\e",
                '-' when literal => @"\-",
                '→' => @"\(->",
                '—' => @"\(em",
                '–' => @"\(en",
                '…' => "...",
                _ => c.ToString(),
            });
        }

        return roff.ToString();
    }

    private static string GuardLineStart(string line) => line.StartsWith('.') || line.StartsWith('\'') ? @"\&" + line : line;
}
