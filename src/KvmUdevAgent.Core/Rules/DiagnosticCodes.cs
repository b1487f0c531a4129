namespace KvmUdevAgent.Core.Rules;

/// <summary>Stable codes for rule diagnostics; tests and users grep for them, so never renumber.</summary>
internal static class DiagnosticCodes
{
    public const string YamlSyntax = "KUR001";
    public const string NotAMapping = "KUR002";
    public const string NotASequence = "KUR003";
    public const string NotAScalar = "KUR004";
    public const string AliasNotSupported = "KUR005";
    public const string DuplicateKey = "KUR006";
    public const string UnknownKey = "KUR010";
    public const string UnknownMatchKey = "KUR011";
    public const string UnknownActionKey = "KUR012";
    public const string MissingKey = "KUR013";
    public const string MissingValue = "KUR014";
    public const string BadBoolean = "KUR015";
    public const string BadName = "KUR016";
    public const string DuplicateName = "KUR017";
    public const string BadGlob = "KUR020";
    public const string BadHexId = "KUR021";
    public const string BadAction = "KUR022";
    public const string NegationNotAllowed = "KUR023";
    public const string BadInterface = "KUR024";
    public const string BadAttributeName = "KUR025";
    public const string BadPropertyName = "KUR026";
    public const string EmptyMatch = "KUR030";
    public const string NoAction = "KUR031";
    public const string AttachAndMount = "KUR032";
    public const string ConflictingRules = "KUR033";
    public const string UnquotedId = "KUR034";
    public const string UnknownVm = "KUR040";
    public const string BadAttachKind = "KUR041";
    public const string BadMountPath = "KUR042";
    public const string BadMountOption = "KUR043";
    public const string BadAllow = "KUR044";
    public const string BadHookCommand = "KUR045";
    public const string BadTimeout = "KUR046";
    public const string UnknownTemplate = "KUR050";
    public const string BadTemplate = "KUR051";
    public const string NoRules = "KUR060";
    public const string UnsafePermissions = "KUR070";
    public const string FileUnreadable = "KUR071";

    /// <summary>Every code with its usual severity and meaning, for <c>docs/rules.md</c>.</summary>
    public static readonly (string Code, Severity Severity, string Meaning)[] All =
    [
        (YamlSyntax, Severity.Error, "The file is not valid YAML (tabs, unclosed quotes, bad indentation, more than one document)."),
        (NotAMapping, Severity.Error, "Expected a mapping (`key: value` lines or `{ ... }`)."),
        (NotASequence, Severity.Error, "Expected a list (`- item` lines or `[a, b]`)."),
        (NotAScalar, Severity.Error, "Expected a single value, got a list or mapping."),
        (AliasNotSupported, Severity.Error, "YAML aliases (`*name`) are not supported; write the value out."),
        (DuplicateKey, Severity.Error, "A key appears twice in one mapping."),
        (UnknownKey, Severity.Error, "Unknown top-level or rule key (with a did-you-mean)."),
        (UnknownMatchKey, Severity.Error, "Unknown key under `match:` (with a did-you-mean)."),
        (UnknownActionKey, Severity.Error, "Unknown key under `attach:`, `mount:` or `hook:`."),
        (MissingKey, Severity.Error, "A required key is missing (`rules:`, `name:`, `vm:`, `path:`, `run:`)."),
        (MissingValue, Severity.Error, "A key has no value."),
        (BadBoolean, Severity.Error, "Expected plain `true` or `false`."),
        (BadName, Severity.Error, "Rule names are 1-64 letters, digits, `-`, `_`, `.`."),
        (DuplicateName, Severity.Error, "Two rules share a name (across all files)."),
        (BadGlob, Severity.Error, "A pattern the matcher refuses (unterminated `[`, character class, trailing `\\`)."),
        (BadHexId, Severity.Error, "A USB id that is not four hex digits (or a glob over hex digits)."),
        (BadAction, Severity.Error, "An action word the kernel does not send."),
        (NegationNotAllowed, Severity.Error, "`!` is not allowed here (interface patterns)."),
        (BadInterface, Severity.Error, "An interface pattern not shaped `cc:ss:pp`, or an empty list."),
        (BadAttributeName, Severity.Error, "An `attrs:` name that is not a plain sysfs file name."),
        (BadPropertyName, Severity.Error, "A `props:` name that is not letters, digits and `_`."),
        (EmptyMatch, Severity.Warning, "An empty `match:` (or `attrs:`/`props:`) applies to every device."),
        (NoAction, Severity.Warning, "A rule with no `attach`, `mount` or `hook`."),
        (AttachAndMount, Severity.Error, "One rule both attaches and mounts."),
        (ConflictingRules, Severity.Warning, "An `attach` rule and a `mount` rule can match the same device; the earlier one wins."),
        (UnquotedId, Severity.Style, "Quote USB ids so every YAML tool reads them as text."),
        (UnknownVm, Severity.Error, "`attach.vm` names no VM of the configuration."),
        (BadAttachKind, Severity.Error, "`as:` is not `usb-host`, `usb-storage` or `virtio-blk`."),
        (BadMountPath, Severity.Error, "A mount path that is absolute or has an empty, `.` or `..` segment."),
        (BadMountOption, Severity.Error, "A mount option that is unknown, malformed, always set, or must go to `allow:`."),
        (BadAllow, Severity.Error, "An `allow:` entry other than `exec`, `suid`, `dev`."),
        (BadHookCommand, Severity.Error, "A hook command that is a shell string, empty, or not an absolute program path."),
        (BadTimeout, Severity.Error, "A timeout that is not `N ms|s|m` between 1ms and 1h."),
        (UnknownTemplate, Severity.Error, "An unknown `{name}` in a template."),
        (BadTemplate, Severity.Error, "An unmatched `{` or `}` in a template."),
        (NoRules, Severity.Warning, "A file or `rules:` list with no rules."),
        (UnsafePermissions, Severity.Error, "A rule file or directory that is not root-owned, is group/other-writable, or is a symlink."),
        (FileUnreadable, Severity.Error, "The rules directory or a file cannot be read."),
    ];
}
