using System.Buffers;
using System.Text;
using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.Rules;

/// <summary><c>props.NAME</c>: the event's raw property bytes, decoded into a stack buffer for matching.</summary>
internal sealed class PropertyKeyMatcher(KeySpec spec, string name, ValuePattern pattern) : KeyMatcher
{
    private const int StackChars = 256;
    private readonly byte[] _name = Encoding.UTF8.GetBytes(name);

    public override string Key => spec.Name + "." + name;

    public override string Expected => pattern.Text;

    public override int Cost => spec.Cost * 8 + pattern.Cost;

    public override bool Matches(DeviceView device)
    {
        if (!device.Event.TryGetValue(_name, out ReadOnlySpan<byte> raw))
        {
            return pattern.IsMatch(default, present: false);
        }

        int max = Encoding.UTF8.GetMaxCharCount(raw.Length);
        char[]? rented = max > StackChars ? ArrayPool<char>.Shared.Rent(max) : null;
        Span<char> buffer = rented ?? stackalloc char[StackChars];
        try
        {
            int n = Encoding.UTF8.GetChars(raw, buffer);
            return pattern.IsMatch(buffer[..n], present: true);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    public override string? Actual(DeviceView device) => device.Event.GetString(name);
}
