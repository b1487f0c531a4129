using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// One compiled condition of a rule. <see cref="Matches"/> is the hot path and allocates nothing;
/// <see cref="Actual"/> is for <c>test</c> traces and may allocate.
/// </summary>
internal abstract class KeyMatcher
{
    /// <summary>The key as the rule wrote it (<c>vendor</c>, <c>attrs.removable</c>).</summary>
    public abstract string Key { get; }

    /// <summary>The pattern(s) as written, for traces and <c>rules show</c>.</summary>
    public abstract string Expected { get; }

    /// <summary>Relative cost; a rule's matchers run in ascending order.</summary>
    public abstract int Cost { get; }

    public abstract bool Matches(DeviceView device);

    /// <summary>The value the device has for this key (null when absent), for explaining a miss.</summary>
    public abstract string? Actual(DeviceView device);
}
