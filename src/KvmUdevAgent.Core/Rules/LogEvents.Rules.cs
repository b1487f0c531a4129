namespace KvmUdevAgent.Core;

internal static partial class LogEvents
{
    public const int RulesLoaded = 3000;
    public const int RulesReloadFailed = 3001;
    public const int RulesFirstLoadFailed = 3002;
    public const int RulesDiagnostic = 3003;
    public const int RulesPlanMade = 3004;
}
