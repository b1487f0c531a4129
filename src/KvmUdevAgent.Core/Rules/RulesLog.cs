using Microsoft.Extensions.Logging;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Log lines about rules, for the orchestrator (daemon host) to write once per outcome (style
/// item 20); the rules code itself returns results and does not log.
/// </summary>
internal static partial class RulesLog
{
    [LoggerMessage(EventId = LogEvents.RulesLoaded, EventName = nameof(LogEvents.RulesLoaded), Level = LogLevel.Information,
        Message = "Loaded {RuleCount} rules from {RulesDir} as generation {Generation}")]
    public static partial void Loaded(ILogger logger, int ruleCount, string rulesDir, long generation);

    [LoggerMessage(EventId = LogEvents.RulesReloadFailed, EventName = nameof(LogEvents.RulesReloadFailed), Level = LogLevel.Warning,
        Message = "Rules in {RulesDir} have {ErrorCount} errors, generation {AttemptedGeneration} refused and generation {ActiveGeneration} stays, keeping previous rules")]
    public static partial void ReloadFailed(ILogger logger, string rulesDir, int errorCount, long attemptedGeneration, long activeGeneration);

    [LoggerMessage(EventId = LogEvents.RulesFirstLoadFailed, EventName = nameof(LogEvents.RulesFirstLoadFailed), Level = LogLevel.Error,
        Message = "Rules in {RulesDir} have {ErrorCount} errors; refusing to start")]
    public static partial void FirstLoadFailed(ILogger logger, string rulesDir, int errorCount);

    [LoggerMessage(EventId = LogEvents.RulesDiagnostic, EventName = nameof(LogEvents.RulesDiagnostic), Level = LogLevel.Warning,
        Message = "{File}:{Line}:{Column}: {Severity}: {Text} [{Code}]")]
    public static partial void Diagnostic(ILogger logger, string file, int line, int column, Severity severity, string text, string code);

    [LoggerMessage(EventId = LogEvents.RulesPlanMade, EventName = nameof(LogEvents.RulesPlanMade), Level = LogLevel.Debug,
        Message = "Plan for {Action} {DevPath}: {ActionCount} actions from rule generation {Generation}")]
    public static partial void PlanMade(ILogger logger, string action, string devPath, int actionCount, long generation);

    /// <summary>Logs every diagnostic of a load, then the outcome, as the daemon should after <see cref="RuleStore.Reload"/>.</summary>
    public static void Report(ILogger logger, string rulesDir, RuleReloadResult result, bool firstLoad)
    {
        foreach (RuleDiagnostic d in result.Diagnostics)
        {
            Diagnostic(logger, d.File, d.Line, d.Column, d.Severity, d.Message, d.Code);
        }

        int errors = result.Diagnostics.Count(d => d.Severity == Severity.Error);
        if (result.Succeeded)
        {
            Loaded(logger, result.RuleCount, rulesDir, result.ActiveGeneration);
        }
        else if (firstLoad)
        {
            FirstLoadFailed(logger, rulesDir, errors);
        }
        else
        {
            ReloadFailed(logger, rulesDir, errors, result.AttemptedGeneration, result.ActiveGeneration);
        }
    }
}
