using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// A parsed template such as <c>{vendor}:{product}</c>. <c>{{</c> and <c>}}</c> are literal braces.
/// It expands to one string (one argv element or one path segment); values are inserted raw and
/// never re-parsed, so a label like <c>$(reboot)</c> stays text.
/// </summary>
internal sealed class Template
{
    private readonly ImmutableArray<(bool IsPlaceholder, string Text)> _parts;

    private Template(string text, ImmutableArray<(bool, string)> parts)
    {
        Text = text;
        _parts = parts;
    }

    public string Text { get; }

    public bool HasPlaceholders => _parts.Any(p => p.IsPlaceholder);

    /// <summary>True if one of the template's placeholders is in <paramref name="names"/>.</summary>
    public bool Uses(IReadOnlySet<string> names) => _parts.Any(p => p.IsPlaceholder && names.Contains(p.Text));

    /// <summary>True if the expansion begins with a device value, so the device decides its first character.</summary>
    public bool StartsWithPlaceholder => !_parts.IsEmpty && _parts[0].IsPlaceholder;

    /// <summary>Parses; on failure <paramref name="offset"/> is the 0-based index of the problem in <paramref name="text"/>.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out Template? template, [NotNullWhen(false)] out string? reason, out string? code, out int offset)
    {
        var parts = ImmutableArray.CreateBuilder<(bool, string)>();
        var literal = new StringBuilder();
        template = null;
        code = null;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '{' && i + 1 < text.Length && text[i + 1] == '{')
            {
                literal.Append('{');
                i++;
            }
            else if (c == '}' && i + 1 < text.Length && text[i + 1] == '}')
            {
                literal.Append('}');
                i++;
            }
            else if (c == '}')
            {
                reason = "unmatched '}' in template; write '}}' for a literal brace";
                code = DiagnosticCodes.BadTemplate;
                offset = i;
                return false;
            }
            else if (c == '{')
            {
                int close = text.IndexOf('}', i + 1);
                if (close < 0)
                {
                    reason = "unclosed '{' in template; write '{{' for a literal brace";
                    code = DiagnosticCodes.BadTemplate;
                    offset = i;
                    return false;
                }

                string name = text[(i + 1)..close];
                if (!TemplateNames.IsKnown(name))
                {
                    string? suggestion = Suggestions.Closest(name, TemplateNames.Simple.Keys);
                    reason = $"unknown template name '{{{name}}}'" + (suggestion is null ? string.Empty : $"; did you mean '{{{suggestion}}}'?")
                        + "; expected one of: " + TemplateNames.Describe();
                    code = DiagnosticCodes.UnknownTemplate;
                    offset = i;
                    return false;
                }

                if (literal.Length > 0)
                {
                    parts.Add((false, literal.ToString()));
                    literal.Clear();
                }

                parts.Add((true, name));
                i = close;
            }
            else
            {
                literal.Append(c);
            }
        }

        if (literal.Length > 0)
        {
            parts.Add((false, literal.ToString()));
        }

        template = new Template(text, parts.ToImmutable());
        reason = null;
        offset = 0;
        return true;
    }

    /// <summary>Expands with the device's values; a missing value expands to the empty string.</summary>
    public string Expand(DeviceView device)
    {
        if (_parts.Length == 1)
        {
            // A literal, or one placeholder ("{serial}"): its text as it is, without a builder (issue 15: per event).
            return _parts[0].IsPlaceholder ? TemplateNames.Resolve(device, _parts[0].Text) ?? string.Empty : _parts[0].Text;
        }

        var sb = new StringBuilder();
        foreach (var (isPlaceholder, text) in _parts)
        {
            sb.Append(isPlaceholder ? TemplateNames.Resolve(device, text) : text);
        }

        return sb.ToString();
    }
}
