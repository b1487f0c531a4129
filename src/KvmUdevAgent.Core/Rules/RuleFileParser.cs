using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Rule file text → <see cref="RuleDocument"/>. Checks everything that one file can tell (keys,
/// types, patterns, ids, templates, options); cross-file checks (duplicate names, VM names,
/// conflicts) are <see cref="RuleValidator"/>'s. Never stops at the first problem.
/// </summary>
internal sealed partial class RuleFileParser
{
    public const string RulesKey = "rules";

    private static readonly string[] s_topKeys = [RulesKey];
    private static readonly string[] s_ruleKeys = ["name", "description", "enabled", "final", "match", "attach", "mount", "hook"];

    private readonly string _file;
    private readonly IReadOnlySet<string>? _knownVms;
    private readonly List<RuleDiagnostic> _diagnostics = [];

    private RuleFileParser(string file, IReadOnlySet<string>? knownVms)
    {
        _file = file;
        _knownVms = knownVms;
    }

    /// <param name="file">The name diagnostics use.</param>
    /// <param name="text">The file's text.</param>
    /// <param name="knownVms">VM names from the configuration; null skips the check (no configuration at hand).</param>
    public static RuleDocument Parse(string file, string text, IReadOnlySet<string>? knownVms = null)
    {
        var parser = new RuleFileParser(file, knownVms);
        var rules = parser.ParseText(text);
        return new RuleDocument(file, rules, [.. parser._diagnostics]);
    }

    private ImmutableArray<RuleDefinition> ParseText(string text)
    {
        YamlNode? root = YamlReader.Read(_file, text, _diagnostics);
        if (root is null)
        {
            if (_diagnostics.Count == 0)
            {
                Warning(new SourcePosition(1, 1), DiagnosticCodes.NoRules, "the file holds no rules");
            }

            return [];
        }

        if (root is not YamlMapping top)
        {
            Error(root.Position, DiagnosticCodes.NotAMapping, $"expected a mapping with a '{RulesKey}:' list at the top, got {root.KindName}");
            return [];
        }

        YamlNode? rulesNode = null;
        foreach (var (key, value) in top.Entries)
        {
            if (key.Value == RulesKey)
            {
                rulesNode = value;
            }
            else
            {
                UnknownKey(key, s_topKeys, DiagnosticCodes.UnknownKey, "top-level key");
            }
        }

        if (rulesNode is null)
        {
            Error(top.Position, DiagnosticCodes.MissingKey, $"missing '{RulesKey}:' list");
            return [];
        }

        if (rulesNode is YamlScalar { IsNull: true })
        {
            Warning(rulesNode.Position, DiagnosticCodes.NoRules, "the 'rules:' list is empty");
            return [];
        }

        if (rulesNode is not YamlSequence list)
        {
            Error(rulesNode.Position, DiagnosticCodes.NotASequence, $"'{RulesKey}:' must be a list of rules (items starting with '- '), got {rulesNode.KindName}");
            return [];
        }

        if (list.Items.Count == 0)
        {
            Warning(list.Position, DiagnosticCodes.NoRules, "the 'rules:' list is empty");
        }

        var rules = ImmutableArray.CreateBuilder<RuleDefinition>();
        foreach (YamlNode item in list.Items)
        {
            if (ParseRule(item) is { } rule)
            {
                rules.Add(rule);
            }
        }

        return rules.ToImmutable();
    }

    private RuleDefinition? ParseRule(YamlNode node)
    {
        if (node is not YamlMapping map)
        {
            Error(node.Position, DiagnosticCodes.NotAMapping, $"a rule must be a mapping with 'name:', 'match:' and an action, got {node.KindName}");
            return null;
        }

        int errorsBefore = ErrorCount;
        string? name = null;
        string? description = null;
        bool enabled = true, final = false;
        ImmutableArray<MatchEntry> match = [];
        AttachSpec? attach = null;
        MountSpec? mount = null;
        HookSpec? hook = null;
        YamlScalar? attachKey = null, mountKey = null;
        foreach (var (key, value) in map.Entries)
        {
            switch (key.Value)
            {
                case "name":
                    name = ParseName(value);
                    break;
                case "description":
                    description = Scalar(value, "a one-line description")?.Value;
                    break;
                case "enabled":
                    enabled = Boolean(value) ?? true;
                    break;
                case "final":
                    final = Boolean(value) ?? false;
                    break;
                case "match":
                    match = ParseMatch(value);
                    break;
                case "attach":
                    attachKey = key;
                    attach = ParseAttach(value);
                    break;
                case "mount":
                    mountKey = key;
                    mount = ParseMount(value);
                    break;
                case "hook":
                    hook = ParseHook(value);
                    break;
                default:
                    UnknownKey(key, s_ruleKeys, DiagnosticCodes.UnknownKey, "rule key");
                    break;
            }
        }

        if (name is null && !map.Entries.Any(e => e.Key.Value == "name"))
        {
            Error(map.Position, DiagnosticCodes.MissingKey, "rule has no 'name:'; every rule needs a unique name");
        }

        if (attachKey is not null && mountKey is not null)
        {
            Error(mountKey.Position, DiagnosticCodes.AttachAndMount,
                "a rule cannot both 'attach:' and 'mount:' (a device is never both given to a VM and mounted on the host); split it into two rules");
        }

        if (attachKey is null && mountKey is null && !map.Entries.Any(e => e.Key.Value == "hook"))
        {
            Warning(map.Position, DiagnosticCodes.NoAction, $"rule '{name}' has no action; add 'attach:', 'mount:' or 'hook:'");
        }

        if (match.IsEmpty && ErrorCount == errorsBefore)
        {
            Warning(map.Position, DiagnosticCodes.EmptyMatch, $"rule '{name}' has an empty 'match:' and applies to every device");
        }

        if (ErrorCount != errorsBefore || name is null)
        {
            return null;
        }

        return new RuleDefinition
        {
            Name = name,
            Description = description,
            Enabled = enabled,
            Final = final,
            Match = match,
            Attach = attach,
            Mount = mount,
            Hook = hook,
            File = _file,
            Position = map.Position,
        };
    }

    private string? ParseName(YamlNode value)
    {
        if (Scalar(value, "a rule name") is not { } scalar)
        {
            return null;
        }

        string name = scalar.Value;
        if (name.Length == 0 || name.Length > 64 || !char.IsAsciiLetterOrDigit(name[0]) || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
        {
            Error(value.Position, DiagnosticCodes.BadName, $"bad rule name '{name}'; expected 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit");
            return null;
        }

        return name;
    }

    private bool? Boolean(YamlNode value)
    {
        if (value is YamlScalar { IsPlain: true, Value: "true" or "false" } scalar)
        {
            return scalar.Value == "true";
        }

        Error(value.Position, DiagnosticCodes.BadBoolean, $"expected true or false, got {Describe(value)}");
        return null;
    }

    /// <summary>A non-null scalar, or a reported error naming <paramref name="expected"/>.</summary>
    private YamlScalar? Scalar(YamlNode value, string expected)
    {
        if (value is YamlScalar scalar)
        {
            if (!scalar.IsNull)
            {
                return scalar;
            }

            Error(value.Position, DiagnosticCodes.MissingValue, $"missing value; expected {expected}");
            return null;
        }

        Error(value.Position, DiagnosticCodes.NotAScalar, $"expected {expected}, got {value.KindName}");
        return null;
    }

    private ImmutableArray<string>? StringList(YamlNode value, string expected)
    {
        if (value is not YamlSequence list)
        {
            Error(value.Position, DiagnosticCodes.NotASequence, $"expected a list of {expected} (e.g. [a, b]), got {value.KindName}");
            return null;
        }

        var items = ImmutableArray.CreateBuilder<string>();
        bool ok = true;
        foreach (YamlNode item in list.Items)
        {
            if (Scalar(item, expected) is { } scalar)
            {
                items.Add(scalar.Value);
            }
            else
            {
                ok = false;
            }
        }

        return ok ? items.ToImmutable() : null;
    }

    private static string Describe(YamlNode node) => node is YamlScalar { IsNull: false } s ? $"'{s.Value}'" : node.KindName;

    private int ErrorCount => _diagnostics.Count(d => d.Severity == Severity.Error);

    private void UnknownKey(YamlScalar key, IReadOnlyCollection<string> expected, string code, string what)
    {
        string? suggestion = Suggestions.Closest(key.Value, expected);
        Error(key.Position, code, $"unknown {what} '{key.Value}'; "
            + (suggestion is not null ? $"did you mean '{suggestion}'?" : "expected one of: " + string.Join(", ", expected)));
    }

    private void Error(SourcePosition at, string code, string message) =>
        _diagnostics.Add(new RuleDiagnostic(_file, at.Line, at.Column, Severity.Error, code, message));

    private void Warning(SourcePosition at, string code, string message) =>
        _diagnostics.Add(new RuleDiagnostic(_file, at.Line, at.Column, Severity.Warning, code, message));

    private static SourcePosition Offset(YamlScalar scalar, int offset) =>
        new(scalar.Position.Line, scalar.Position.Column + offset + (scalar.IsPlain ? 0 : 1));
}
