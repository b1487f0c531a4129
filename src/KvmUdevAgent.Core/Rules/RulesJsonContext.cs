using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace KvmUdevAgent.Core.Rules;

/// <summary>Source-generated JSON for plans, traces and diagnostics (NativeAOT: no reflection).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true,
    WriteIndented = true)]
[JsonSerializable(typeof(Plan))]
[JsonSerializable(typeof(RuleTrace))]
[JsonSerializable(typeof(ImmutableArray<RuleTrace>))]
[JsonSerializable(typeof(RuleDiagnostic))]
[JsonSerializable(typeof(ImmutableArray<RuleDiagnostic>))]
[JsonSerializable(typeof(RuleTestReport))]
[JsonSerializable(typeof(List<RuleTestReport>))]
[JsonSerializable(typeof(RuleListing))]
[JsonSerializable(typeof(List<RuleListing>))]
[JsonSerializable(typeof(RuleValidationReport))]
[JsonSerializable(typeof(RuleShowResult))]
internal sealed partial class RulesJsonContext : JsonSerializerContext;
