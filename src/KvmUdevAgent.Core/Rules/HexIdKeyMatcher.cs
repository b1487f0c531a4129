using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.Rules;

/// <summary>A USB id key: a plain id compares the number, anything else formats into a stack buffer.</summary>
internal sealed class HexIdKeyMatcher : KeyMatcher
{
    private readonly KeySpec _spec;
    private readonly ValuePattern _pattern;
    private readonly Func<DeviceView, UsbId?> _accessor;
    private readonly int _exact;

    public HexIdKeyMatcher(KeySpec spec, ValuePattern pattern)
    {
        _spec = spec;
        _pattern = pattern;
        _accessor = spec.Id ?? throw new ArgumentException("key has no id accessor", nameof(spec));
        _exact = pattern.Kind == PatternKind.Exact && pattern.Alternatives.Count == 1
            && UsbId.TryParse(pattern.Alternatives[0], out UsbId id, out _) ? id.Value : -1;
    }

    public KeySpec Spec => _spec;

    public ValuePattern Pattern => _pattern;

    public override string Key => _spec.Name;

    public override string Expected => _pattern.Text;

    public override int Cost => _spec.Cost * 8 + (_exact >= 0 ? 0 : _pattern.Cost);

    public override bool Matches(DeviceView device)
    {
        UsbId? id = _accessor(device);
        if (_exact >= 0)
        {
            return (id is { } v && v.Value == _exact) != _pattern.Negated;
        }

        if (id is not { } value)
        {
            return _pattern.IsMatch(default, present: false);
        }

        Span<char> text = stackalloc char[4];
        value.Value.TryFormat(text, out _, "x4", System.Globalization.CultureInfo.InvariantCulture);
        return _pattern.IsMatch(text, present: true);
    }

    public override string? Actual(DeviceView device) => _accessor(device)?.ToString();
}
