using System.Collections.Frozen;
using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Narrows the rules an event must be checked against, without changing the result: each rule
/// that pins a key to plain values (<c>serial: "576B63C4"</c>, <c>subsystem: usb|block</c>) is filed
/// under the most selective such key; the others are always candidates. An event looks its own
/// value up once per indexed key and gets a bitmap of candidate rules, walked in rule order, so
/// the first-match and <c>final</c> semantics are those of a plain linear scan.
/// </summary>
internal sealed class RuleIndex
{
    // Most selective first: a rule is filed under the first of these keys it pins.
    private static readonly string[] s_priority =
        ["serial", "fs_uuid", "fs_label", "product", "vendor", "kernel", "devpath", "driver", "devtype", "subsystem", "action"];

    private readonly ulong[] _unindexed;
    private readonly KeyIndex[] _keys;

    public RuleIndex(IReadOnlyList<CompiledRule> rules)
    {
        RuleCount = rules.Count;
        _unindexed = new ulong[WordCount];
        var byKey = new Dictionary<string, List<(int Rule, IReadOnlyList<string> Values)>>(StringComparer.Ordinal);
        for (int i = 0; i < rules.Count; i++)
        {
            (KeySpec Spec, IReadOnlyList<string> Values)? best = null;
            foreach (KeyMatcher matcher in rules[i].Matchers)
            {
                if (Pinned(matcher) is { } pin && (best is null || Rank(pin.Spec) < Rank(best.Value.Spec)))
                {
                    best = pin;
                }
            }

            if (best is { } chosen)
            {
                if (!byKey.TryGetValue(chosen.Spec.Name, out var list))
                {
                    byKey[chosen.Spec.Name] = list = [];
                }

                list.Add((i, chosen.Values));
            }
            else
            {
                _unindexed[i >> 6] |= 1UL << (i & 63);
            }
        }

        _keys = [.. byKey.Select(k => new KeyIndex(MatchKeys.ByName[k.Key], k.Value))];
    }

    public int RuleCount { get; }

    /// <summary>Number of 64-bit words in a candidate bitmap.</summary>
    public int WordCount => (RuleCount + 63) >> 6;

    /// <summary>Writes the candidate rules for <paramref name="device"/> into <paramref name="mask"/> (<see cref="WordCount"/> words). Allocates nothing.</summary>
    public void Candidates(DeviceView device, Span<ulong> mask)
    {
        _unindexed.CopyTo(mask);
        foreach (KeyIndex key in _keys)
        {
            foreach (int rule in key.Lookup(device))
            {
                mask[rule >> 6] |= 1UL << (rule & 63);
            }
        }
    }

    private static int Rank(KeySpec spec) => Array.IndexOf(s_priority, spec.Name);

    private static (KeySpec Spec, IReadOnlyList<string> Values)? Pinned(KeyMatcher matcher) => matcher switch
    {
        TextKeyMatcher { Pattern: { Negated: false, Kind: PatternKind.Exact } p } t when Rank(t.Spec) >= 0 => (t.Spec, p.Alternatives),
        HexIdKeyMatcher { Pattern: { Negated: false, Kind: PatternKind.Exact } p } h when Rank(h.Spec) >= 0 => (h.Spec, p.Alternatives),
        _ => null,
    };

    /// <summary>The rules filed under one key, by value.</summary>
    private sealed class KeyIndex
    {
        private readonly KeySpec _spec;
        private readonly FrozenDictionary<string, int[]> _byText;
        private readonly FrozenDictionary<int, int[]> _byId;

        public KeyIndex(KeySpec spec, List<(int Rule, IReadOnlyList<string> Values)> rules)
        {
            _spec = spec;
            var pairs = rules.SelectMany(r => r.Values.Distinct(StringComparer.Ordinal).Select(v => (Value: v, r.Rule))).ToList();
            _byText = spec.Text is null ? FrozenDictionary<string, int[]>.Empty
                : pairs.GroupBy(p => p.Value, StringComparer.Ordinal).ToFrozenDictionary(g => g.Key, g => g.Select(p => p.Rule).ToArray(), StringComparer.Ordinal);
            _byId = spec.Id is null ? FrozenDictionary<int, int[]>.Empty
                : pairs.GroupBy(p => (int)UsbIdValue(p.Value)).ToFrozenDictionary(g => g.Key, g => g.Select(p => p.Rule).ToArray());
        }

        public int[] Lookup(DeviceView device)
        {
            if (_spec.Id is { } id)
            {
                return id(device) is { } value && _byId.TryGetValue(value.Value, out int[]? byId) ? byId : [];
            }

            return _spec.Text!(device) is { } text && _byText.TryGetValue(text, out int[]? byText) ? byText : [];
        }

        private static ushort UsbIdValue(string text) =>
            UsbId.TryParse(text, out UsbId id, out string? reason) ? id.Value : throw new InvalidOperationException("unvalidated USB id: " + reason);
    }
}
