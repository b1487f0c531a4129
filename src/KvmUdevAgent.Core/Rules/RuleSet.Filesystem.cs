using System.Buffers;
using System.Numerics;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// What an event is worth reading (issue 15): a blkid probe only when a rule that can still match
/// uses the filesystem, a device view only when some rule can match the event at all. Both are
/// answered from the rule index of this generation; neither changes what <see cref="Match"/> returns.
/// </summary>
internal sealed partial class RuleSet
{
    private readonly ulong[] _needsFilesystem;
    private readonly bool _anyNeedsFilesystem;
    private Func<DeviceView, bool>? _needsFilesystemCheck;

    /// <summary><see cref="NeedsFilesystem"/> as a delegate, made once per rule set (the pipeline passes it with every event).</summary>
    public Func<DeviceView, bool> NeedsFilesystemCheck => _needsFilesystemCheck ??= NeedsFilesystem;

    /// <summary>
    /// True when a rule that uses the filesystem (<see cref="CompiledRule.NeedsFilesystem"/>) can still
    /// match <paramref name="device"/>: it applies to the event's action and every one of its other
    /// conditions holds, the <c>fs_*</c> ones counting as unknown. False means a probe cannot change the plan.
    /// </summary>
    public bool NeedsFilesystem(DeviceView device) => _anyNeedsFilesystem && AnyCandidate(device, filesystemRules: true);

    /// <summary>
    /// False when no rule can match <paramref name="uevent"/>, known from what the event says alone
    /// (<see cref="MatchKeys.EventOnly"/>: action, subsystem, devtype, kernel name, devpath), without
    /// reading sysfs. True means "perhaps": the view is built and the rules decide.
    /// </summary>
    public bool MayMatch(Uevent uevent) => _rules.Length > 0 && AnyCandidate(DeviceView.Bare(uevent), filesystemRules: false);

    /// <summary>
    /// With <paramref name="filesystemRules"/>: is there a rule using the filesystem among the candidates
    /// without the <c>fs_*</c> keys whose other conditions all hold? Without: is there any candidate on
    /// the event's own keys? Allocates nothing.
    /// </summary>
    private bool AnyCandidate(DeviceView device, bool filesystemRules)
    {
        int words = _index.WordCount;
        ulong[]? rented = words > MaxStackWords ? ArrayPool<ulong>.Shared.Rent(words) : null;
        Span<ulong> mask = (rented ?? stackalloc ulong[MaxStackWords])[..words];
        try
        {
            if (!filesystemRules)
            {
                _index.EventCandidates(device, mask);
                return mask.ContainsAnyExcept(0UL);
            }

            _index.CandidatesWithoutFilesystem(device, mask);
            for (int w = 0; w < words; w++)
            {
                for (ulong bits = mask[w] & _needsFilesystem[w]; bits != 0; bits &= bits - 1)
                {
                    if (AllHold(_rules[(w << 6) + BitOperations.TrailingZeroCount(bits)].NonFilesystemMatchers, device))
                    {
                        return true;
                    }
                }
            }

            return false;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<ulong>.Shared.Return(rented);
            }
        }
    }

    /// <summary><see cref="NeedsFilesystem"/> by its definition, rule by rule without the index (for tests that pin the two together).</summary>
    internal bool NeedsFilesystemLinear(DeviceView device)
    {
        UeventAction action = device.Event.Action;
        foreach (CompiledRule rule in _rules)
        {
            if (rule.NeedsFilesystem && (!rule.ImplicitAction || action is UeventAction.Add or UeventAction.Remove) && AllHold(rule.NonFilesystemMatchers, device))
            {
                return true;
            }
        }

        return false;
    }

    private static bool AllHold(KeyMatcher[] matchers, DeviceView device)
    {
        foreach (KeyMatcher matcher in matchers)
        {
            if (!matcher.Matches(device))
            {
                return false;
            }
        }

        return true;
    }
}
