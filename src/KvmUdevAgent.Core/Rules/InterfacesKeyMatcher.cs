using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// <c>interfaces</c>: every interface the USB device exposes must match one listed pattern. A device
/// whose interfaces are unknown, or were read from damaged descriptors (a list that may miss one),
/// does not match: refusing is the safe answer for a BadUSB check.
/// </summary>
internal sealed class InterfacesKeyMatcher(KeySpec spec, ValuePattern[] patterns) : KeyMatcher
{
    public override string Key => spec.Name;

    public override string Expected => "[" + string.Join(", ", patterns.Select(p => p.Text)) + "]";

    public override int Cost => spec.Cost * 8 + patterns.Sum(p => p.Cost);

    public override bool Matches(DeviceView device)
    {
        var interfaces = device.Identity.Interfaces;
        if (interfaces.IsDefaultOrEmpty || device.Identity.InterfacesProblem is not null)
        {
            return false;
        }

        foreach (string iface in interfaces)
        {
            bool allowed = false;
            foreach (ValuePattern pattern in patterns)
            {
                if (pattern.IsMatch(iface, present: true))
                {
                    allowed = true;
                    break;
                }
            }

            if (!allowed)
            {
                return false;
            }
        }

        return true;
    }

    public override string? Actual(DeviceView device) => device.Identity.DescribeInterfaces();
}
