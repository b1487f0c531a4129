using System.Collections.Immutable;
using System.Globalization;

namespace KvmUdevAgent.Core.Rules;

internal sealed partial class RuleFileParser
{
    private static readonly string[] s_attachKeys = ["vm", "as", "read_only", "removable"];
    private static readonly string[] s_mountKeys = ["path", "options", "allow"];
    private static readonly string[] s_hookKeys = ["run", "timeout", "on_remove"];

    private AttachSpec? ParseAttach(YamlNode node)
    {
        if (ExpectMapping(node, "attach", "{ vm: NAME }") is not { } map)
        {
            return null;
        }

        string? vm = null;
        SourcePosition vmPosition = map.Position;
        AttachKind? kind = null;
        bool readOnly = false;
        bool? removable = null;
        foreach (var (key, value) in map.Entries)
        {
            switch (key.Value)
            {
                case "vm":
                    vm = Scalar(value, "a VM name from the agent configuration")?.Value;
                    vmPosition = value.Position;
                    if (vm is not null && _knownVms is not null && !_knownVms.Contains(vm))
                    {
                        string? suggestion = Suggestions.Closest(vm, _knownVms);
                        Error(value.Position, DiagnosticCodes.UnknownVm, $"unknown VM '{vm}'; " + (suggestion is not null ? $"did you mean '{suggestion}'? " : string.Empty)
                            + (_knownVms.Count == 0 ? "the configuration defines no VMs under 'vms:'" : "expected one of: " + string.Join(", ", _knownVms.Order(StringComparer.Ordinal))));
                    }

                    break;
                case "as":
                    if (Scalar(value, "usb-host, usb-storage or virtio-blk") is { } word)
                    {
                        kind = AttachKinds.Parse(word.Value);
                        if (kind == AttachKind.Unknown)
                        {
                            string? suggestion = Suggestions.Closest(word.Value, AttachKinds.Words);
                            Error(value.Position, DiagnosticCodes.BadAttachKind, $"unknown attach kind '{word.Value}'; "
                                + (suggestion is not null ? $"did you mean '{suggestion}'?" : "expected one of: " + string.Join(", ", AttachKinds.Words)));
                        }
                    }

                    break;
                case "read_only":
                    readOnly = Boolean(value) ?? false;
                    break;
                case "removable":
                    removable = Boolean(value);
                    break;
                default:
                    UnknownKey(key, s_attachKeys, DiagnosticCodes.UnknownActionKey, "attach key");
                    break;
            }
        }

        if (vm is null && !map.Entries.Any(e => e.Key.Value == "vm"))
        {
            Error(map.Position, DiagnosticCodes.MissingKey, "'attach:' needs 'vm:', the name of a VM from the agent configuration");
        }

        return vm is null ? null : new AttachSpec(vm, kind, readOnly, vmPosition, removable);
    }

    private MountSpec? ParseMount(YamlNode node)
    {
        if (ExpectMapping(node, "mount", "{ path: \"{fs_label}\" }") is not { } map)
        {
            return null;
        }

        string? path = null;
        ImmutableArray<string> options = [];
        ImmutableArray<string> allow = [];
        foreach (var (key, value) in map.Entries)
        {
            switch (key.Value)
            {
                case "path":
                    if (Scalar(value, "a path template relative to the mount base, such as \"{fs_label}\"") is { } scalar && CheckMountPath(scalar))
                    {
                        path = scalar.Value;
                    }

                    break;
                case "options":
                    if (StringList(value, "mount options") is { } list && CheckMountOptions(value, list))
                    {
                        options = list;
                    }

                    break;
                case "allow":
                    if (StringList(value, "exec, suid or dev") is { } allowed)
                    {
                        allow = allowed;
                        foreach (string word in allowed.Where(w => !MountOptions.Allowable.Contains(w)))
                        {
                            Error(value.Position, DiagnosticCodes.BadAllow, $"unknown 'allow:' entry '{word}'; expected one of: exec, suid, dev");
                        }
                    }

                    break;
                default:
                    UnknownKey(key, s_mountKeys, DiagnosticCodes.UnknownActionKey, "mount key");
                    break;
            }
        }

        if (path is null && !map.Entries.Any(e => e.Key.Value == "path"))
        {
            Error(map.Position, DiagnosticCodes.MissingKey, "'mount:' needs 'path:', a template relative to the mount base such as \"{fs_label}\"");
        }

        return path is null ? null : new MountSpec(path, options, allow);
    }

    private bool CheckMountPath(YamlScalar scalar)
    {
        string text = scalar.Value;
        if (text.StartsWith('/'))
        {
            Error(scalar.Position, DiagnosticCodes.BadMountPath, $"mount path '{text}' must be relative to the mount base (no leading '/')");
            return false;
        }

        int offset = 0;
        foreach (string segment in text.Split('/'))
        {
            if (segment is "" or "." or "..")
            {
                Error(Offset(scalar, offset), DiagnosticCodes.BadMountPath, $"mount path '{text}' has an empty, '.' or '..' segment; each segment names one directory");
                return false;
            }

            if (!Template.TryParse(segment, out _, out string? reason, out string? code, out int at))
            {
                Error(Offset(scalar, offset + at), code!, reason);
                return false;
            }

            offset += segment.Length + 1;
        }

        return true;
    }

    private bool CheckMountOptions(YamlNode node, ImmutableArray<string> options)
    {
        bool ok = true;
        foreach (string option in options)
        {
            if (!MountOptions.TryValidate(option, out string? reason))
            {
                Error(node.Position, DiagnosticCodes.BadMountOption, reason);
                ok = false;
            }
        }

        return ok;
    }

    private HookSpec? ParseHook(YamlNode node)
    {
        if (ExpectMapping(node, "hook", "{ run: [/path/to/program, \"{serial}\"] }") is not { } map)
        {
            return null;
        }

        ImmutableArray<string>? run = null;
        ImmutableArray<string> onRemove = [];
        TimeSpan timeout = HookSpec.DefaultTimeout;
        foreach (var (key, value) in map.Entries)
        {
            switch (key.Value)
            {
                case "run":
                    run = Argv(value, "run");
                    break;
                case "on_remove":
                    onRemove = Argv(value, "on_remove") ?? [];
                    break;
                case "timeout":
                    if (Scalar(value, "a duration such as 10s") is { } scalar)
                    {
                        if (Durations.TryParse(scalar.Value, out TimeSpan parsed) && parsed > TimeSpan.Zero && parsed <= TimeSpan.FromHours(1))
                        {
                            timeout = parsed;
                        }
                        else
                        {
                            Error(value.Position, DiagnosticCodes.BadTimeout, $"bad timeout '{scalar.Value}'; expected a whole number with a unit, ms, s or m, between 1ms and 1h, such as 10s");
                        }
                    }

                    break;
                default:
                    UnknownKey(key, s_hookKeys, DiagnosticCodes.UnknownActionKey, "hook key");
                    break;
            }
        }

        if (run is null && !map.Entries.Any(e => e.Key.Value == "run"))
        {
            Error(map.Position, DiagnosticCodes.MissingKey, "'hook:' needs 'run:', the program and its arguments as a list");
        }

        return run is { } argv ? new HookSpec(argv, timeout, onRemove) : null;
    }

    private ImmutableArray<string>? Argv(YamlNode value, string key)
    {
        if (value is YamlScalar { IsNull: false } shell)
        {
            Error(value.Position, DiagnosticCodes.BadHookCommand,
                $"'{key}:' takes a list (program, then arguments), never a shell string; write [\"{shell.Value.Split(' ')[0]}\", ...]");
            return null;
        }

        if (StringList(value, "program arguments") is not { } argv)
        {
            return null;
        }

        var items = ((YamlSequence)value).Items;
        if (argv.Length == 0)
        {
            Error(value.Position, DiagnosticCodes.BadHookCommand, $"'{key}:' is empty; the first element is the program to run, as an absolute path");
            return null;
        }

        bool ok = true;
        if (!argv[0].StartsWith('/') || argv[0].Contains('{', StringComparison.Ordinal))
        {
            Error(items[0].Position, DiagnosticCodes.BadHookCommand, $"the program '{argv[0]}' must be an absolute path without templates (hooks run as root; no PATH lookup)");
            ok = false;
        }

        for (int i = 0; i < argv.Length; i++)
        {
            if (!Template.TryParse(argv[i], out _, out string? reason, out string? code, out int at))
            {
                Error(Offset((YamlScalar)items[i], at), code!, reason);
                ok = false;
            }
        }

        return ok ? argv : null;
    }

    private YamlMapping? ExpectMapping(YamlNode node, string key, string example)
    {
        if (node is YamlMapping map)
        {
            return map;
        }

        Error(node.Position, DiagnosticCodes.NotAMapping, $"'{key}:' must be a mapping such as {example}, got {node.KindName}");
        return null;
    }
}
