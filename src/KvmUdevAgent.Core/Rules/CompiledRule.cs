using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// A rule ready to match: matchers ordered cheapest first, templates parsed, and flags saying
/// which events it can affect. Built only from a definition that validated without errors.
/// </summary>
internal sealed class CompiledRule
{
    private CompiledRule(RuleDefinition definition, KeyMatcher[] matchers)
    {
        Definition = definition;
        Matchers = matchers;
        ImplicitAction = !definition.Match.Any(m => m.Key == MatchKeys.Action);
        Places = definition.Attach is not null || definition.Mount is not null;
        RunTemplates = Parse(definition.Hook?.Run ?? []);
        OnRemoveTemplates = Parse(definition.Hook?.OnRemove ?? []);
        MountSegments = definition.Mount is { } mount ? Parse([.. mount.Path.Split('/')]) : [];
        NonFilesystemMatchers = [.. matchers.Where(m => !IsFilesystem(m))];
        NeedsFilesystem = definition.Mount is not null || NonFilesystemMatchers.Length != matchers.Length
            || RunTemplates.Any(t => t.Uses(MatchKeys.Filesystem)) || OnRemoveTemplates.Any(t => t.Uses(MatchKeys.Filesystem));
    }

    public RuleDefinition Definition { get; }

    public string Name => Definition.Name;

    public KeyMatcher[] Matchers { get; }

    /// <summary>No <c>action</c> key: applies on add and is reversed on remove.</summary>
    public bool ImplicitAction { get; }

    /// <summary>Has an <c>attach</c> or <c>mount</c>, so it can decide where the device goes.</summary>
    public bool Places { get; }

    public ImmutableArray<Template> RunTemplates { get; }

    public ImmutableArray<Template> OnRemoveTemplates { get; }

    public ImmutableArray<Template> MountSegments { get; }

    /// <summary>
    /// Uses what is on the device's filesystem: an <c>fs_label</c>/<c>fs_uuid</c>/<c>fs_type</c>
    /// condition, an <c>{fs_*}</c> template, or a mount (which needs the type, and whose path usually
    /// names the label). An event only such a rule can match is worth a blkid probe.
    /// </summary>
    public bool NeedsFilesystem { get; }

    /// <summary>The conditions that hold or fail without the filesystem known (all but the <c>fs_*</c> ones).</summary>
    public KeyMatcher[] NonFilesystemMatchers { get; }

    public static CompiledRule Compile(RuleDefinition definition)
    {
        var matchers = new List<KeyMatcher>();
        var attributes = new List<(string, ValuePattern)>();
        foreach (MatchEntry entry in definition.Match)
        {
            KeySpec spec = MatchKeys.ByName[entry.Key];
            ValuePattern[] patterns = [.. entry.Patterns.Select(p => ValuePattern.TryParse(p, spec.AllowsNegation || spec.Kind == ValueKind.InterfaceList, out var vp, out string? reason)
                ? vp : throw new InvalidOperationException($"rule '{definition.Name}' was not validated: {reason}"))];
            switch (spec.Kind)
            {
                case ValueKind.InterfaceList:
                    matchers.Add(new InterfacesKeyMatcher(spec, patterns));
                    break;
                case ValueKind.AttributeMap:
                    attributes.Add((entry.Name!, patterns[0]));
                    break;
                case ValueKind.PropertyMap:
                    matchers.Add(new PropertyKeyMatcher(spec, entry.Name!, patterns[0]));
                    break;
                case ValueKind.HexId:
                    matchers.Add(new HexIdKeyMatcher(spec, patterns[0]));
                    break;
                default:
                    matchers.Add(new TextKeyMatcher(spec, patterns[0]));
                    break;
            }
        }

        if (attributes.Count > 0)
        {
            matchers.Add(new AttributesKeyMatcher(MatchKeys.ByName[MatchKeys.Attrs], [.. attributes]));
        }

        // Stable sort: equal costs keep the order the rule was written in.
        return new CompiledRule(definition, [.. matchers.OrderBy(m => m.Cost)]);
    }

    private static bool IsFilesystem(KeyMatcher matcher) => matcher is TextKeyMatcher t && MatchKeys.Filesystem.Contains(t.Spec.Name);

    private static ImmutableArray<Template> Parse(ImmutableArray<string> texts) =>
        [.. texts.Select(t => Template.TryParse(t, out Template? template, out string? reason, out _, out _)
            ? template : throw new InvalidOperationException($"template '{t}' was not validated: {reason}"))];
}
