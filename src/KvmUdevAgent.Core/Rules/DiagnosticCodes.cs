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
}
