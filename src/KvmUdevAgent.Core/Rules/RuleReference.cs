using System.Text;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Generates <c>docs/rules.md</c> from the match-key table, the template names and the action
/// words, so the reference cannot drift from the code (a test fails when the file is stale).
/// </summary>
internal static class RuleReference
{
    public static string Generate()
    {
        var md = new StringBuilder();
        md.Append("""
            # Rule reference

            <!-- Generated from src/KvmUdevAgent.Core/Rules/MatchKeys.cs and friends by RuleReference.Generate().
                 Do not edit by hand: run `KUA_UPDATE_DOCS=1 dotnet test --filter RuleReferenceTests`. -->

            Rules live in YAML files in the rules directory (default `/etc/kvm-udev-agent/rules.d`), read in
            file-name order; each file holds one `rules:` list. Files and the directory must be owned by root and
            not writable by group or others (hooks run as root), or they are refused.

            ```yaml
            rules:
              - name: flash-to-winxp          # unique; letters, digits, - _ .
                description: optional text
                enabled: true                 # default true
                final: false                  # true: stop evaluating further rules when this one matches
                match: { subsystem: usb, devtype: usb_device, vendor: "058f", product: "6387", serial: "576B63C4", interfaces: ["08:*:*"] }
                attach: { vm: winxp }         # or mount: / hook:
            ```

            ## Semantics

            - Rules are evaluated in order (files by name, rules in file order). All keys of `match:` must hold.
            - The first matching rule with `attach` or `mount` decides where the device goes; a later matching
              `attach`/`mount` is shadowed (a device is never both given to a VM and mounted). A rule set in which
              an `attach` rule and a `mount` rule can match the same device gets a validation warning.
            - The `hook` of every matching rule runs. `final: true` stops evaluation after that rule.
            - A rule without an `action` key applies on `add` (and coldplug) and is reversed on `remove`:
              attach becomes detach, mount becomes unmount, and the hook's `on_remove` runs. Other actions
              (`bind`, `change`, ...) do not trigger it. A rule with an `action` key runs on exactly those events.
            - On `remove` the device's sysfs directory is gone: identity keys use what was seen at `add`, and
              `attrs` conditions count as met so the reverse plan is still made.
            - Each key's value must be complete when the rules run. The *Known at* column says from which event
              on it is, when the agent reads it from sysfs (`source: kernel`; udevd's events carry the same
              facts at the same events). The kernel announces a USB device (`add`) after reading its
              descriptors and strings but before the generic driver sets its configuration and creates its
              interfaces, and any device before its driver binds. So `interfaces` is read from the device's
              `descriptors` attribute (the interface children are only a fallback where it is missing), and
              a device whose live `add` routed nothing has its `bind` routed as its `add`, once, for rules on
              `driver` or on a USB device's active-configuration attributes. A device is never routed twice
              for one plug: an `add` that routed something is final.

            ## Patterns

            Values are shell-style globs as in udev, checked against glibc `fnmatch(3)`: `*`, `?`, `[abc]`,
            `[a-z]`, `[!a-z]` / `[^a-z]`, and `\` to escape. `a|b` means either alternative. A leading `!`
            negates the whole pattern. A missing value matches only `""`, so `"*"` means "present" and `"!*"`
            means "absent". Unterminated brackets and character classes (`[[:alpha:]]`) are refused.
            Quote values YAML would otherwise reinterpret (`"058f"`, `"1"`, `"*"`, `"!x"`).

            ## Match keys

            | Key | Value | Negation | Walks parents | Source | Known at | Meaning | Example |
            |-----|-------|----------|---------------|--------|----------|---------|---------|

            """);
        foreach (KeySpec key in MatchKeys.All)
        {
            md.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"| `{key.Name}` | {Describe(key.Kind)} | {(key.AllowsNegation ? "yes" : "no")} | {(key.WalksParents ? "yes" : "no")} | {Cell(key.Source)} | {Cell(key.KnownAt)} | {Cell(key.Description)} | `{Cell(key.Example)}` |\n");
        }

        md.Append("""

            ## Actions

            | Action | Keys |
            |--------|------|
            | `attach` | `vm` (required, a VM from the configuration), `as` (`usb-host`, `usb-storage`, `virtio-blk`; default `usb-host` for a USB device, `usb-storage` for a block device), `read_only` (default false), `removable` (usb-storage: whether the guest sees a removable disk; default as the host disk's sysfs `removable`) |
            | `mount` | `path` (required, template relative to the mount base; each `/`-separated segment is expanded and sanitised), `options` (list), `allow` (list of `exec`, `suid`, `dev`) |
            | `hook` | `run` (required, argv list: absolute program path, then argument templates; never a shell), `timeout` (`500ms`, `10s`, `2m`; default 10s, at most 1h), `on_remove` (argv list run on removal) |

            Mounts always get `nosuid,nodev,noexec` unless `allow:` lifts one; `exec`, `suid` and `dev` are refused
            in `options:`. Mount path segments have `/`, `\`, quotes, backticks and control characters replaced
            with `_`, and `.`/`..`/empty segments become underscores.

            ## Templates

            Hook arguments and mount path segments may use these placeholders; each expands inside its own
            argument or segment and is never re-parsed. `{{` and `}}` are literal braces. An unknown name is a
            load error. Each is complete when the key of the same name is (see *Known at* above); `{devnode}`
            and `{kernel}` come with the event, `{attrs.NAME}` as `attrs`, `{props.NAME}` as `props`.

            A hook argument that starts with a placeholder and expands to something starting with `-` is
            refused (the hook does not run; the audit record says why), because a device string would become an
            option of the program: a label `-f/etc/shadow` is not a file name. Put `--` before such arguments when
            the program takes them as operands: `run: ["/usr/bin/logger", "-t", "kua", "--", "{fs_label}"]`.


            """);
        foreach (string name in TemplateNames.All)
        {
            md.Append("- `{").Append(name).Append("}`\n");
        }

        md.Append("""

            ## Diagnostics

            Every problem is reported as `file:line:column: severity: message [code]`, all of them in one pass.
            `kvm-udev-agent rules validate` exits 0 when clean, 1 on errors, and 2 on warnings or style notes
            with `--strict`.

            | Code | Severity | Meaning |
            |------|----------|---------|

            """);
        foreach (var (code, severity, meaning) in DiagnosticCodes.All)
        {
            md.Append(System.Globalization.CultureInfo.InvariantCulture, $"| {code} | {severity.ToString().ToLowerInvariant()} | {Cell(meaning)} |\n");
        }

        return md.ToString();
    }

    // A '|' inside a table cell ends the cell unless escaped.
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);

    private static string Describe(ValueKind kind) => kind switch
    {
        ValueKind.Action => "pattern of action words",
        ValueKind.HexId => "pattern over 4 hex digits",
        ValueKind.InterfaceList => "list of `cc:ss:pp` patterns",
        ValueKind.AttributeMap => "map name → pattern",
        ValueKind.PropertyMap => "map name → pattern",
        _ => "pattern",
    };
}
