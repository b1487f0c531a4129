using System.Diagnostics.CodeAnalysis;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Edits one rule inside a rule file's text (enable, disable, remove) by line, so the other rules,
/// comments and formatting stay as the administrator wrote them. Works on block-style rule lists
/// (the style every example uses); a flow-style rule is refused with a reason.
/// </summary>
internal static class RuleFileEditor
{
    public static bool TrySetEnabled(string file, string text, string ruleName, bool enabled, [NotNullWhen(true)] out string? edited, [NotNullWhen(false)] out string? reason)
    {
        edited = null;
        if (!TryFindRule(file, text, ruleName, out YamlMapping? rule, out _, out reason))
        {
            return false;
        }

        string[] lines = SplitLines(text);
        var existing = rule.Entries.FirstOrDefault(e => e.Key.Value == "enabled");
        var nameEntry = rule.Entries.First(e => e.Key.Value == "name");
        if (rule.Entries.Count(e => e.Key.Position.Line == nameEntry.Key.Position.Line) > 1)
        {
            reason = $"rule '{ruleName}' is written in flow style ({{...}}); edit it by hand";
            return false;
        }

        string word = enabled ? "true" : "false";
        if (existing.Key is not null)
        {
            if (existing.Value is not YamlScalar { IsPlain: true } scalar)
            {
                reason = $"rule '{ruleName}' has an 'enabled:' value that is not a plain true/false; edit it by hand";
                return false;
            }

            int lineIndex = scalar.Position.Line - 1;
            string line = lines[lineIndex];
            int col = scalar.Position.Column - 1;
            lines[lineIndex] = line[..col] + word + line[(col + scalar.Value.Length)..];
        }
        else if (enabled)
        {
            edited = text;
            return true;
        }
        else
        {
            int lineIndex = nameEntry.Key.Position.Line - 1;
            string indent = new(' ', nameEntry.Key.Position.Column - 1);
            var list = lines.ToList();
            list.Insert(lineIndex + 1, indent + "enabled: false");
            lines = [.. list];
        }

        edited = string.Join('\n', lines);
        return true;
    }

    public static bool TryRemove(string file, string text, string ruleName, [NotNullWhen(true)] out string? edited, [NotNullWhen(false)] out string? reason)
    {
        edited = null;
        if (!TryFindRule(file, text, ruleName, out YamlMapping? rule, out YamlSequence? list, out reason))
        {
            return false;
        }

        string[] lines = SplitLines(text);
        int index = list.Items.ToList().IndexOf(rule);
        int first = rule.Position.Line - 1;
        int end = lines[^1].Length == 0 ? lines.Length - 2 : lines.Length - 1;
        int last = index + 1 < list.Items.Count ? list.Items[index + 1].Position.Line - 2 : end;
        if (index + 1 < list.Items.Count && list.Items[index + 1].Position.Line == rule.Position.Line)
        {
            reason = $"rule '{ruleName}' shares a line with another rule (flow style); edit it by hand";
            return false;
        }

        // Comment lines directly above the rule belong to it; those right above the next rule belong to that one.
        while (first > 0 && lines[first - 1].TrimStart().StartsWith('#'))
        {
            first--;
        }

        while (last > first && (lines[last].TrimStart().StartsWith('#') || lines[last].Trim().Length == 0) && index + 1 < list.Items.Count)
        {
            last--;
        }

        var kept = lines.Take(first).Concat(lines.Skip(last + 1)).ToList();
        if (list.Items.Count == 1)
        {
            // Leave a valid, empty list behind rather than 'rules:' with nothing (null).
            int rulesLine = kept.FindIndex(l => l.TrimEnd() == RuleFileParser.RulesKey + ":");
            if (rulesLine >= 0)
            {
                kept[rulesLine] = RuleFileParser.RulesKey + ": []";
            }
        }

        edited = string.Join('\n', kept);
        return true;
    }

    private static string[] SplitLines(string text) => text.Split('\n');

    private static bool TryFindRule(string file, string text, string ruleName, [NotNullWhen(true)] out YamlMapping? rule, [NotNullWhen(true)] out YamlSequence? list, [NotNullWhen(false)] out string? reason)
    {
        rule = null;
        list = null;
        var diagnostics = new List<RuleDiagnostic>();
        if (YamlReader.Read(file, text, diagnostics) is not YamlMapping top
            || top.Entries.FirstOrDefault(e => e.Key.Value == RuleFileParser.RulesKey).Value is not YamlSequence rules)
        {
            reason = $"{file} does not parse as a rule file; fix it first (rules validate {file})";
            return false;
        }

        list = rules;
        rule = rules.Items.OfType<YamlMapping>().FirstOrDefault(m => m.Entries.Any(e => e.Key.Value == "name" && e.Value is YamlScalar s && s.Value == ruleName));
        if (rule is null)
        {
            reason = $"no rule named '{ruleName}' in {file}";
            return false;
        }

        reason = null;
        return true;
    }
}
