using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.Rules;

/// <summary>A string-valued key read by the table's accessor.</summary>
internal sealed class TextKeyMatcher(KeySpec spec, ValuePattern pattern) : KeyMatcher
{
    private readonly Func<DeviceView, string?> _accessor = spec.Text ?? throw new ArgumentException("key has no text accessor", nameof(spec));

    // Most conditions are one plain value ("usb", "576B63C4"): string equality, which checks length first.
    private readonly string? _exact = pattern.Negated ? null : pattern.SingleExact;

    public KeySpec Spec => spec;

    public ValuePattern Pattern => pattern;

    public override string Key => spec.Name;

    public override string Expected => pattern.Text;

    public override int Cost => spec.Cost * 8 + pattern.Cost;

    public override bool Matches(DeviceView device)
    {
        string? value = _accessor(device);
        if (_exact is not null)
        {
            return string.Equals(value, _exact, StringComparison.Ordinal);
        }

        return pattern.IsMatch(value, value is not null);
    }

    public override string? Actual(DeviceView device) => _accessor(device);
}
