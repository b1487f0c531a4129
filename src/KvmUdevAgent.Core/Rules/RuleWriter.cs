using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Writes rules back as YAML (<c>rules show</c>, <c>rules add</c> from a definition) through
/// YamlDotNet's emitter, so quoting is always right; the output parses back to equal rules.
/// </summary>
internal static class RuleWriter
{
    public static string Write(IEnumerable<RuleDefinition> rules)
    {
        var text = new StringWriter { NewLine = "\n" };
        var emitter = new Emitter(text);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart());
        emitter.Emit(new MappingStart());
        Plain(emitter, RuleFileParser.RulesKey);
        emitter.Emit(new SequenceStart(null, null, true, SequenceStyle.Block));
        foreach (RuleDefinition rule in rules)
        {
            WriteRule(emitter, rule);
        }

        emitter.Emit(new SequenceEnd());
        emitter.Emit(new MappingEnd());
        emitter.Emit(new DocumentEnd(true));
        emitter.Emit(new StreamEnd());
        return text.ToString();
    }

    private static void WriteRule(Emitter e, RuleDefinition rule)
    {
        e.Emit(new MappingStart());
        Pair(e, "name", rule.Name);
        if (rule.Description is { } description)
        {
            Pair(e, "description", description);
        }

        if (!rule.Enabled)
        {
            Plain(e, "enabled");
            Plain(e, "false");
        }

        if (rule.Final)
        {
            Plain(e, "final");
            Plain(e, "true");
        }

        Plain(e, "match");
        e.Emit(new MappingStart());
        foreach (KeySpec spec in MatchKeys.All)
        {
            var entries = rule.Match.Where(m => m.Key == spec.Name).ToList();
            if (entries.Count == 0)
            {
                continue;
            }

            Plain(e, spec.Name);
            if (spec.Kind is ValueKind.AttributeMap or ValueKind.PropertyMap)
            {
                e.Emit(new MappingStart());
                foreach (MatchEntry entry in entries)
                {
                    Pair(e, entry.Name!, entry.Patterns[0]);
                }

                e.Emit(new MappingEnd());
            }
            else if (spec.Kind == ValueKind.InterfaceList)
            {
                List(e, entries[0].Patterns, flow: true);
            }
            else
            {
                Quoted(e, entries[0].Patterns[0]);
            }
        }

        e.Emit(new MappingEnd());
        if (rule.Attach is { } attach)
        {
            Plain(e, "attach");
            e.Emit(new MappingStart());
            Pair(e, "vm", attach.Vm);
            if (attach.Kind is { } kind)
            {
                Pair(e, "as", kind.ToWord());
            }

            if (attach.ReadOnly)
            {
                Plain(e, "read_only");
                Plain(e, "true");
            }

            if (attach.Removable is { } removable)
            {
                Plain(e, "removable");
                Plain(e, removable ? "true" : "false");
            }

            e.Emit(new MappingEnd());
        }

        if (rule.Mount is { } mount)
        {
            Plain(e, "mount");
            e.Emit(new MappingStart());
            Pair(e, "path", mount.Path);
            if (!mount.Options.IsEmpty)
            {
                Plain(e, "options");
                List(e, mount.Options, flow: true);
            }

            if (!mount.Allow.IsEmpty)
            {
                Plain(e, "allow");
                List(e, mount.Allow, flow: true);
            }

            e.Emit(new MappingEnd());
        }

        if (rule.Hook is { } hook)
        {
            Plain(e, "hook");
            e.Emit(new MappingStart());
            Plain(e, "run");
            List(e, hook.Run, flow: true);
            Pair(e, "timeout", Durations.Format(hook.Timeout));
            if (!hook.OnRemove.IsEmpty)
            {
                Plain(e, "on_remove");
                List(e, hook.OnRemove, flow: true);
            }

            e.Emit(new MappingEnd());
        }

        e.Emit(new MappingEnd());
    }

    private static void List(Emitter e, IEnumerable<string> items, bool flow)
    {
        e.Emit(new SequenceStart(null, null, true, flow ? SequenceStyle.Flow : SequenceStyle.Block));
        foreach (string item in items)
        {
            Quoted(e, item);
        }

        e.Emit(new SequenceEnd());
    }

    private static void Pair(Emitter e, string key, string value)
    {
        Plain(e, key);
        Quoted(e, value);
    }

    private static void Plain(Emitter e, string value) => e.Emit(new Scalar(null, null, value, ScalarStyle.Plain, true, false));

    // Values are always double-quoted: '058f', 'yes', '*' and '!x' must stay strings, and device-ish
    // text with odd characters is escaped by the emitter rather than by us.
    private static void Quoted(Emitter e, string value) => e.Emit(new Scalar(null, null, value, ScalarStyle.DoubleQuoted, false, true));

    internal static string Summary(RuleDefinition rule)
    {
        var sb = new StringBuilder();
        foreach (MatchEntry m in rule.Match)
        {
            if (sb.Length > 0)
            {
                sb.Append(' ');
            }

            sb.Append(m.Name is null ? m.Key : m.Key + "." + m.Name).Append('=').AppendJoin(',', m.Patterns);
        }

        return sb.Length == 0 ? "(any device)" : sb.ToString();
    }

    internal static string ActionSummary(RuleDefinition rule)
    {
        var parts = new List<string>();
        if (rule.Attach is { } a)
        {
            parts.Add("attach " + a.Vm + (a.Kind is { } k ? " as " + k.ToWord() : string.Empty));
        }

        if (rule.Mount is { } m)
        {
            parts.Add("mount " + m.Path);
        }

        if (rule.Hook is { } h)
        {
            parts.Add("hook " + h.Run[0]);
        }

        if (rule.Final)
        {
            parts.Add("final");
        }

        return parts.Count == 0 ? "(none)" : string.Join(", ", parts);
    }
}
