using System.Collections.Immutable;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Rules;

internal sealed partial class RuleFileParser
{
    private static readonly string[] s_actionWords = ["add", "remove", "change", "move", "online", "offline", "bind", "unbind"];

    private ImmutableArray<MatchEntry> ParseMatch(YamlNode node)
    {
        if (node is YamlScalar { IsNull: true })
        {
            return [];
        }

        if (node is not YamlMapping map)
        {
            Error(node.Position, DiagnosticCodes.NotAMapping, $"'match:' must be a mapping of match keys to patterns, got {node.KindName}");
            return [];
        }

        var entries = ImmutableArray.CreateBuilder<MatchEntry>();
        foreach (var (key, value) in map.Entries)
        {
            if (!MatchKeys.ByName.TryGetValue(key.Value, out KeySpec? spec))
            {
                UnknownKey(key, MatchKeys.Names, DiagnosticCodes.UnknownMatchKey, "match key");
                continue;
            }

            switch (spec.Kind)
            {
                case ValueKind.InterfaceList:
                    if (ParseInterfaces(value) is { } interfaces)
                    {
                        entries.Add(new MatchEntry(spec.Name, null, interfaces, key.Position));
                    }

                    break;
                case ValueKind.AttributeMap:
                case ValueKind.PropertyMap:
                    ParseNamedPatterns(spec, value, entries);
                    break;
                default:
                    if (ParsePattern(spec, value) is { } pattern)
                    {
                        entries.Add(new MatchEntry(spec.Name, null, [pattern], key.Position));
                    }

                    break;
            }
        }

        return entries.ToImmutable();
    }

    private string? ParsePattern(KeySpec spec, YamlNode value)
    {
        if (value is YamlSequence)
        {
            Error(value.Position, DiagnosticCodes.NotAScalar, $"'{spec.Name}' takes one pattern, not a list; write alternatives as \"a|b\"");
            return null;
        }

        if (Scalar(value, $"a pattern for '{spec.Name}'") is not { } scalar)
        {
            return null;
        }

        string text = spec.Kind == ValueKind.HexId ? scalar.Value.ToLowerInvariant() : scalar.Value;
        if (!ValuePattern.TryParse(text, spec.AllowsNegation, out ValuePattern? pattern, out string? reason))
        {
            Error(value.Position, reason.Contains('!', StringComparison.Ordinal) && text.StartsWith('!') ? DiagnosticCodes.NegationNotAllowed : DiagnosticCodes.BadGlob,
                $"bad pattern '{scalar.Value}' for '{spec.Name}': {reason}");
            return null;
        }

        foreach (string alternative in pattern.Alternatives)
        {
            if (spec.Kind == ValueKind.HexId && !IsHexIdPattern(alternative))
            {
                Error(value.Position, DiagnosticCodes.BadHexId,
                    $"bad {spec.Name} id '{scalar.Value}'; expected four hex digits such as '{spec.Example}' (a glob over hex digits is allowed); quote it so YAML keeps leading zeros");
                return null;
            }

            if (spec.Kind == ValueKind.Action && Glob.IsLiteral(alternative) && alternative.Length > 0 && UeventActions.Parse(alternative) == UeventAction.Unknown)
            {
                string? suggestion = Suggestions.Closest(alternative, s_actionWords);
                Error(value.Position, DiagnosticCodes.BadAction, $"unknown action '{alternative}'; "
                    + (suggestion is not null ? $"did you mean '{suggestion}'?" : "expected one of: " + string.Join(", ", s_actionWords)));
                return null;
            }
        }

        if (spec.Kind == ValueKind.HexId && scalar.IsPlain)
        {
            // 0123 or 1e10 would be numbers to most YAML tools; a quoted id means the same everywhere.
            _diagnostics.Add(new RuleDiagnostic(_file, value.Position.Line, value.Position.Column, Severity.Style, DiagnosticCodes.UnquotedId,
                $"quote USB ids: {spec.Name}: \"{scalar.Value}\""));
        }

        return text;
    }

    private static bool IsHexIdPattern(string alternative)
    {
        if (Glob.IsLiteral(alternative))
        {
            return alternative.Length == 4 && alternative.All(char.IsAsciiHexDigitLower);
        }

        return alternative.All(c => char.IsAsciiHexDigitLower(c) || c is '*' or '?' or '[' or ']' or '-' or '!' or '^');
    }

    private ImmutableArray<string>? ParseInterfaces(YamlNode value)
    {
        if (value is not YamlSequence list)
        {
            Error(value.Position, DiagnosticCodes.NotASequence, $"'interfaces' takes a list of cc:ss:pp patterns such as [\"08:*:*\"], got {value.KindName}");
            return null;
        }

        if (list.Items.Count == 0)
        {
            Error(value.Position, DiagnosticCodes.BadInterface, "'interfaces' is an empty list, which no device could satisfy; list at least one cc:ss:pp pattern");
            return null;
        }

        var patterns = ImmutableArray.CreateBuilder<string>();
        bool ok = true;
        foreach (YamlNode item in list.Items)
        {
            if (Scalar(item, "a cc:ss:pp interface pattern") is not { } scalar)
            {
                ok = false;
                continue;
            }

            string text = scalar.Value.ToLowerInvariant();
            string[] parts = text.Split(':');
            if (text.StartsWith('!'))
            {
                Error(item.Position, DiagnosticCodes.NegationNotAllowed, $"interface pattern '{scalar.Value}' cannot be negated; list the interfaces that are allowed");
                ok = false;
            }
            else if (parts.Length != 3 || parts.Any(p => p.Length == 0 || p.Length > 2 && !p.Contains('[', StringComparison.Ordinal) || p.Any(c => !(char.IsAsciiHexDigitLower(c) || c is '*' or '?' or '[' or ']' or '-' or '!' or '^'))))
            {
                Error(item.Position, DiagnosticCodes.BadInterface, $"bad interface pattern '{scalar.Value}'; expected class:subclass:protocol in hex such as \"08:06:50\" or \"08:*:*\"");
                ok = false;
            }
            else if (!ValuePattern.TryParse(text, false, out _, out string? reason))
            {
                Error(item.Position, DiagnosticCodes.BadGlob, $"bad interface pattern '{scalar.Value}': {reason}");
                ok = false;
            }
            else
            {
                patterns.Add(text);
            }
        }

        return ok ? patterns.ToImmutable() : null;
    }

    private void ParseNamedPatterns(KeySpec spec, YamlNode value, ImmutableArray<MatchEntry>.Builder entries)
    {
        if (value is not YamlMapping map)
        {
            Error(value.Position, DiagnosticCodes.NotAMapping, $"'{spec.Name}' takes a mapping of names to patterns such as {spec.Example}, got {value.KindName}");
            return;
        }

        if (map.Entries.Count == 0)
        {
            Warning(value.Position, DiagnosticCodes.EmptyMatch, $"'{spec.Name}' is empty and checks nothing");
        }

        foreach (var (key, item) in map.Entries)
        {
            bool nameOk = spec.Kind == ValueKind.PropertyMap
                ? key.Value.Length > 0 && key.Value.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')
                : TemplateNames.IsPlainName(key.Value);
            if (!nameOk)
            {
                Error(key.Position, spec.Kind == ValueKind.PropertyMap ? DiagnosticCodes.BadPropertyName : DiagnosticCodes.BadAttributeName,
                    spec.Kind == ValueKind.PropertyMap
                        ? $"bad property name '{key.Value}'; expected letters, digits and '_' such as ID_BUS"
                        : $"bad attribute name '{key.Value}'; expected a sysfs file name such as 'removable' (no '/')");
                continue;
            }

            if (ParsePattern(spec, item) is { } pattern)
            {
                entries.Add(new MatchEntry(spec.Name, key.Value, [pattern], key.Position));
            }
        }
    }
}
