using System.Buffers;
using System.Collections.Immutable;
using System.Numerics;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// An immutable, compiled set of rules in evaluation order (files by name, rules in file order).
/// Semantics: the first matching rule with <c>attach</c> or <c>mount</c> decides where the device
/// goes; later ones are shadowed but their hooks still run; <c>final: true</c> stops evaluation.
/// A rule without <c>action</c> applies on <c>add</c> and is reversed on <c>remove</c>.
/// </summary>
internal sealed partial class RuleSet
{
    private readonly CompiledRule[] _rules;

    private const int MaxStackWords = 128;

    private readonly RuleIndex _index;

    public RuleSet(ImmutableArray<RuleDefinition> definitions, ImmutableArray<RuleDiagnostic> diagnostics, long generation)
    {
        Definitions = definitions;
        Diagnostics = diagnostics;
        Generation = generation;
        _rules = [.. definitions.Where(d => d.Enabled).Select(CompiledRule.Compile)];
        _index = new RuleIndex(_rules);
        _needsFilesystem = new ulong[_index.WordCount];
        for (int i = 0; i < _rules.Length; i++)
        {
            if (_rules[i].NeedsFilesystem)
            {
                _needsFilesystem[i >> 6] |= 1UL << (i & 63);
                _anyNeedsFilesystem = true;
            }
        }
    }

    public static RuleSet Empty { get; } = new([], [], 0);

    /// <summary>Every rule, disabled ones included, in evaluation order.</summary>
    public ImmutableArray<RuleDefinition> Definitions { get; }

    /// <summary>Warnings and style notes from loading (a set with errors is never built).</summary>
    public ImmutableArray<RuleDiagnostic> Diagnostics { get; }

    /// <summary>Increases by one with each successful load; 0 for the empty set.</summary>
    public long Generation { get; }

    public IReadOnlyList<CompiledRule> Rules => _rules;

    /// <summary>
    /// Finds the rules that apply to <paramref name="device"/>, in order, writing them to
    /// <paramref name="results"/> (size it to <see cref="Rules"/>' count). Allocates nothing.
    /// </summary>
    public int Match(DeviceView device, Span<RuleMatch> results)
    {
        // Bitmap of candidate rules: on the stack up to 8192 rules, pooled beyond.
        int words = _index.WordCount;
        ulong[]? rented = words > MaxStackWords ? ArrayPool<ulong>.Shared.Rent(words) : null;
        Span<ulong> mask = (rented ?? stackalloc ulong[MaxStackWords])[..words];
        try
        {
            _index.Candidates(device, mask);
            return MatchCandidates(device, mask, results);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<ulong>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The same as <see cref="Match"/> without the index: every rule is a candidate (for tests that pin the index's equivalence).</summary>
    internal int MatchLinear(DeviceView device, Span<RuleMatch> results)
    {
        Span<ulong> mask = new ulong[_index.WordCount];
        for (int i = 0; i < _rules.Length; i++)
        {
            mask[i >> 6] |= 1UL << (i & 63);
        }

        return MatchCandidates(device, mask, results);
    }

    private int MatchCandidates(DeviceView device, ReadOnlySpan<ulong> mask, Span<RuleMatch> results)
    {
        UeventAction action = device.Event.Action;
        bool placed = false;
        int count = 0;
        for (int w = 0; w < mask.Length; w++)
        {
            for (ulong bits = mask[w]; bits != 0 && count < results.Length; bits &= bits - 1)
            {
                int i = (w << 6) + BitOperations.TrailingZeroCount(bits);
                CompiledRule rule = _rules[i];
                bool reverse = false;
                if (rule.ImplicitAction)
                {
                    if (action == UeventAction.Remove)
                    {
                        reverse = true;
                    }
                    else if (action != UeventAction.Add)
                    {
                        continue;
                    }
                }

                if (FirstFailing(rule, device) >= 0)
                {
                    continue;
                }

                bool shadowed = rule.Places && placed;
                placed |= rule.Places;
                results[count++] = new RuleMatch(i, reverse, shadowed);
                if (rule.Definition.Final)
                {
                    return count;
                }
            }
        }

        return count;
    }

    /// <summary>The plan for <paramref name="device"/>; empty when no rule applies.</summary>
    public Plan Evaluate(DeviceView device)
    {
        RuleMatch[]? rented = _rules.Length > 64 ? ArrayPool<RuleMatch>.Shared.Rent(_rules.Length) : null;
        Span<RuleMatch> matches = rented ?? stackalloc RuleMatch[64];
        try
        {
            int n = Match(device, matches);
            return BuildPlan(device, matches[..n]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<RuleMatch>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Index of the first matcher of <paramref name="rule"/> that fails, or -1 when all pass.</summary>
    internal static int FirstFailing(CompiledRule rule, DeviceView device)
    {
        KeyMatcher[] matchers = rule.Matchers;
        for (int m = 0; m < matchers.Length; m++)
        {
            if (!matchers[m].Matches(device))
            {
                return m;
            }
        }

        return -1;
    }
}
