using System.Text;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Generates <c>kvm-udev-agent.rules(5)</c> by rendering the Markdown that <see cref="RuleReference"/>
/// generates for <c>docs/rules.md</c>: one source (the key table and friends), two renderings,
/// so the manual page cannot say something the reference does not. Renders the subset that
/// reference uses: headings, paragraphs, bullet lists, fenced code, and tables (each row a
/// tagged paragraph: the first cell, then "Header: cell" for the others).
/// </summary>
internal static class RuleManPage
{
    public const string FileName = "kvm-udev-agent.rules.5";

    public static string Generate(string version) => Render(RuleReference.Generate(), version);

    public static string Render(string markdown, string version)
    {
        var man = new StringBuilder();
        man.Append(".TH KVM\\-UDEV\\-AGENT.RULES 5 \"\" \"kvm\\-udev\\-agent ").Append(Roff.Escape(version, literal: true)).Append("\" \"File Formats\"\n");
        man.Append(".SH NAME\nkvm\\-udev\\-agent.rules \\- rule files of kvm\\-udev\\-agent(8)\n");
        man.Append(".SH SYNOPSIS\n").Append(Roff.Bold("/etc/kvm-udev-agent/rules.d/*.yaml")).Append('\n');
        man.Append(".SH DESCRIPTION\n");

        string[] lines = markdown.Replace("\r", "", StringComparison.Ordinal).Split('\n');
        var paragraph = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.StartsWith("<!--", StringComparison.Ordinal))
            {
                while (i < lines.Length && !lines[i].Contains("-->", StringComparison.Ordinal))
                {
                    i++;
                }

                continue;
            }

            if (line.Length == 0 || line.StartsWith("# ", StringComparison.Ordinal))
            {
                Flush(man, paragraph);
                continue;
            }

            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                Flush(man, paragraph);
                man.Append(".SH ").Append(Roff.Escape(line[3..].ToUpperInvariant(), literal: false)).Append('\n');
                continue;
            }

            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                Flush(man, paragraph);
                man.Append(".PP\n.RS 4\n.nf\n");
                while (++i < lines.Length && !lines[i].StartsWith("```", StringComparison.Ordinal))
                {
                    man.Append(Roff.Literal(lines[i])).Append('\n');
                }

                man.Append(".fi\n.RE\n");
                continue;
            }

            if (line.StartsWith("- ", StringComparison.Ordinal))
            {
                Flush(man, paragraph);
                var item = new StringBuilder(line[2..]);
                while (i + 1 < lines.Length && lines[i + 1].StartsWith("  ", StringComparison.Ordinal))
                {
                    item.Append(' ').Append(lines[++i].Trim());
                }

                man.Append(".IP \\(bu 2\n").Append(Roff.Text(item.ToString())).Append('\n');
                continue;
            }

            if (line.StartsWith('|'))
            {
                Flush(man, paragraph);
                string[] headers = Cells(line);
                i++; // the |---| separator
                while (i + 1 < lines.Length && lines[i + 1].StartsWith('|'))
                {
                    string[] cells = Cells(lines[++i]);
                    man.Append(".TP\n").Append(Roff.Text(cells[0])).Append('\n');
                    var rest = new List<string>();
                    for (int c = 1; c < cells.Length && c < headers.Length; c++)
                    {
                        rest.Add(headers[c] + ": " + cells[c]);
                    }

                    man.Append(Roff.Text(string.Join(". ", rest.Select(r => r.TrimEnd('.'))) + ".")).Append('\n');
                }

                continue;
            }

            paragraph.Add(line.Trim());
        }

        Flush(man, paragraph);
        man.Append(".SH SEE ALSO\n\\fBkvm\\-udev\\-agent\\fR(8), \\fBudev\\fR(7), \\fBfnmatch\\fR(3)\n");
        return man.ToString();
    }

    private static void Flush(StringBuilder man, List<string> paragraph)
    {
        if (paragraph.Count > 0)
        {
            man.Append(".PP\n").Append(Roff.Text(string.Join(' ', paragraph))).Append('\n');
            paragraph.Clear();
        }
    }

    // Splits a Markdown table row on '|' that is not escaped as '\|', and unescapes the rest.
    private static string[] Cells(string row)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        string inner = row.Trim().Trim('|');
        for (int i = 0; i < inner.Length; i++)
        {
            if (inner[i] == '\\' && i + 1 < inner.Length && inner[i + 1] == '|')
            {
                cell.Append('|');
                i++;
            }
            else if (inner[i] == '|')
            {
                cells.Add(cell.ToString().Trim());
                cell.Clear();
            }
            else
            {
                cell.Append(inner[i]);
            }
        }

        cells.Add(cell.ToString().Trim());
        return [.. cells];
    }
}
