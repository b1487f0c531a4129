using System.Collections.Frozen;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Narrows the rules an event must be checked against, without changing the result. For each key
/// the rules constrain (subsystem, devtype, vendor, product, serial, ...), every rule falls in one
/// of three groups: it pins the key to plain values (<c>serial: "576B63C4"</c>,
/// <c>subsystem: usb|block</c>), filed by value; it pins it to globs that start with a literal
/// character (<c>serial: "S*"</c>), filed by that character; or it does not constrain the key in a
/// way the index can use (no condition, <c>!usb</c>, <c>*foo</c>), the fallback list, always a
/// candidate for that key. An event's candidates are the rules that survive every key: one bitmap
/// per key (value's rules | first character's rules | fallback), intersected. A rule without
/// <c>action</c> is a candidate only for <c>add</c> and <c>remove</c>. The candidates are walked in
/// rule order, each checked in full, so first-match and <c>final</c> are those of a linear scan.
/// Built once per rule generation.
/// </summary>
internal sealed class RuleIndex
{
    // The keys looked up per event; each costs one lookup, so only those some rule pins are kept.
    private static readonly string[] s_indexable =
        [MatchKeys.Action, "subsystem", "devtype", "vendor", "product", "serial", "kernel", "driver", "fs_label", "fs_uuid", "fs_type", "devpath"];

    private readonly ulong[] _all;
    private readonly ulong[] _implicitAction;
    private readonly KeyIndex[] _keys;
    private readonly KeyIndex[] _keysWithoutFilesystem;
    private readonly KeyIndex[] _eventKeys;

    public RuleIndex(IReadOnlyList<CompiledRule> rules)
    {
        RuleCount = rules.Count;
        _all = new ulong[WordCount];
        _implicitAction = new ulong[WordCount];
        for (int i = 0; i < rules.Count; i++)
        {
            Set(_all, i);
            if (rules[i].ImplicitAction)
            {
                Set(_implicitAction, i);
            }
        }

        var keys = new List<KeyIndex>();
        foreach (string name in s_indexable)
        {
            if (KeyIndex.TryBuild(MatchKeys.ByName[name], rules, WordCount) is { } key)
            {
                keys.Add(key);
            }
        }

        _keys = [.. keys];
        _keysWithoutFilesystem = [.. keys.Where(k => !MatchKeys.Filesystem.Contains(k.Name))];
        _eventKeys = [.. keys.Where(k => MatchKeys.EventOnly.Contains(k.Name))];
    }

    public int RuleCount { get; }

    /// <summary>Number of 64-bit words in a candidate bitmap.</summary>
    public int WordCount => (RuleCount + 63) >> 6;

    /// <summary>Writes the candidate rules for <paramref name="device"/> into <paramref name="mask"/> (<see cref="WordCount"/> words). Allocates nothing.</summary>
    public void Candidates(DeviceView device, Span<ulong> mask) => Narrow(device, mask, _keys);

    /// <summary>
    /// As <see cref="Candidates"/> with the filesystem keys unknown (every rule passes them): the rules
    /// that can still match <paramref name="device"/> whatever a blkid probe would find.
    /// </summary>
    public void CandidatesWithoutFilesystem(DeviceView device, Span<ulong> mask) => Narrow(device, mask, _keysWithoutFilesystem);

    /// <summary>
    /// As <see cref="Candidates"/> on the keys the event alone says (<see cref="MatchKeys.EventOnly"/>):
    /// a view of the bare event (no identity, no sysfs) is enough. No bit set: no rule can match the event.
    /// </summary>
    public void EventCandidates(DeviceView bare, Span<ulong> mask) => Narrow(bare, mask, _eventKeys);

    private void Narrow(DeviceView device, Span<ulong> mask, KeyIndex[] keys)
    {
        _all.CopyTo(mask);
        UeventAction action = device.Event.Action;
        if (action is not (UeventAction.Add or UeventAction.Remove))
        {
            AndNot(mask, _implicitAction);
        }

        foreach (KeyIndex key in keys)
        {
            if (!key.Intersect(device, mask))
            {
                return;
            }
        }
    }

    private static void Set(ulong[] bits, int i) => bits[i >> 6] |= 1UL << (i & 63);

    private static void AndNot(Span<ulong> mask, ulong[] bits)
    {
        for (int w = 0; w < mask.Length; w++)
        {
            mask[w] &= ~bits[w];
        }
    }

    /// <summary>One key's three groups of rules.</summary>
    private sealed class KeyIndex
    {
        private readonly KeySpec _spec;
        private readonly ulong[] _fallback;
        private readonly FrozenDictionary<string, ulong[]> _byText;
        private readonly FrozenDictionary<int, ulong[]> _byId;
        private readonly FrozenDictionary<char, ulong[]> _byFirstChar;

        private KeyIndex(KeySpec spec, ulong[] fallback, Dictionary<string, ulong[]> byText, Dictionary<int, ulong[]> byId, Dictionary<char, ulong[]> byFirstChar)
        {
            _spec = spec;
            _fallback = fallback;
            _byText = byText.ToFrozenDictionary(StringComparer.Ordinal);
            _byId = byId.ToFrozenDictionary();
            _byFirstChar = byFirstChar.ToFrozenDictionary();
        }

        public string Name => _spec.Name;

        /// <summary>The index of <paramref name="spec"/>, or null when no rule pins it (every rule would be in the fallback).</summary>
        public static KeyIndex? TryBuild(KeySpec spec, IReadOnlyList<CompiledRule> rules, int words)
        {
            var fallback = new ulong[words];
            var byText = new Dictionary<string, ulong[]>(StringComparer.Ordinal);
            var byId = new Dictionary<int, ulong[]>();
            var byFirstChar = new Dictionary<char, ulong[]>();
            bool any = false;
            for (int i = 0; i < rules.Count; i++)
            {
                // A rule with several conditions on the key (never from the loader, but cheap to
                // allow) is filed under the first indexable one: each condition must hold anyway.
                ValuePattern? pattern = null;
                foreach (KeyMatcher matcher in rules[i].Matchers)
                {
                    ValuePattern? p = matcher switch
                    {
                        TextKeyMatcher t when t.Spec == spec => t.Pattern,
                        HexIdKeyMatcher h when h.Spec == spec => h.Pattern,
                        _ => null,
                    };
                    if (p is not null && Indexable(p, spec))
                    {
                        pattern = p;
                        break;
                    }
                }

                if (pattern is null)
                {
                    Set(fallback, i);
                    continue;
                }

                any = true;
                foreach (string alternative in pattern.Alternatives)
                {
                    if (Glob.IsLiteral(alternative))
                    {
                        if (spec.Id is not null)
                        {
                            Set(Bits(byId, UsbIdValue(alternative), words), i);
                        }
                        else
                        {
                            Set(Bits(byText, alternative, words), i);
                        }
                    }
                    else
                    {
                        Set(Bits(byFirstChar, LiteralFirstChar(alternative)!.Value, words), i);
                    }
                }
            }

            return any ? new KeyIndex(spec, fallback, byText, byId, byFirstChar) : null;
        }

        /// <summary>
        /// Narrows <paramref name="mask"/> to the rules this key leaves possible for <paramref name="device"/>;
        /// false when none are left.
        /// </summary>
        public bool Intersect(DeviceView device, Span<ulong> mask)
        {
            ulong[]? exact = null;
            ulong[]? first = null;
            if (_spec.Id is { } id)
            {
                if (id(device) is { } value)
                {
                    _byId.TryGetValue(value.Value, out exact);
                }
            }
            else if (_spec.Text!(device) is { } text)
            {
                _byText.TryGetValue(text, out exact);
                if (text.Length > 0 && _byFirstChar.Count > 0)
                {
                    _byFirstChar.TryGetValue(text[0], out first);
                }
            }

            ulong left = 0;
            for (int w = 0; w < mask.Length; w++)
            {
                ulong keep = _fallback[w];
                if (exact is not null)
                {
                    keep |= exact[w];
                }

                if (first is not null)
                {
                    keep |= first[w];
                }

                left |= mask[w] &= keep;
            }

            return left != 0;
        }

        /// <summary>
        /// A positive pattern (a missing value never matches it) whose every alternative is a plain
        /// value or, for text keys, a glob starting with a literal character.
        /// </summary>
        private static bool Indexable(ValuePattern pattern, KeySpec spec)
        {
            if (pattern.Negated || pattern.Kind is not (PatternKind.Exact or PatternKind.Glob))
            {
                return false;
            }

            foreach (string alternative in pattern.Alternatives)
            {
                bool literal = Glob.IsLiteral(alternative);
                if (spec.Id is not null ? !literal || !UsbId.TryParse(alternative, out _, out _) : !literal && LiteralFirstChar(alternative) is null)
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>The character every match of the glob starts with, or null when it starts with a wildcard.</summary>
        private static char? LiteralFirstChar(string glob) => glob.Length switch
        {
            0 => null,
            _ when glob[0] is '*' or '?' or '[' => null,
            _ when glob[0] == '\\' => glob.Length > 1 ? glob[1] : null,
            _ => glob[0],
        };

        private static ulong[] Bits<TKey>(Dictionary<TKey, ulong[]> map, TKey key, int words)
            where TKey : notnull
        {
            if (!map.TryGetValue(key, out ulong[]? bits))
            {
                map[key] = bits = new ulong[words];
            }

            return bits;
        }

        private static int UsbIdValue(string text) =>
            UsbId.TryParse(text, out UsbId id, out string? reason) ? id.Value : throw new InvalidOperationException("unvalidated USB id: " + reason);
    }
}
