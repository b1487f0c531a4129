using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// <c>attrs</c>: like udev's ATTRS{}, all listed attributes must match on one and the same device,
/// the device itself or one of its parents. On <c>remove</c> the sysfs directory is gone; the
/// condition then counts as met, so the rule's reverse plan is still produced (undoing an action
/// that was not done is a no-op for the executors).
/// </summary>
internal sealed class AttributesKeyMatcher(KeySpec spec, (string Name, ValuePattern Pattern)[] attributes) : KeyMatcher
{
    public override string Key => spec.Name;

    public override string Expected => "{ " + string.Join(", ", attributes.Select(a => a.Name + ": " + a.Pattern.Text)) + " }";

    public override int Cost => spec.Cost * 8 * attributes.Length;

    public override bool Matches(DeviceView device)
    {
        if (device.Sysfs is null)
        {
            return device.Event.Action == UeventAction.Remove;
        }

        for (SysfsDevice? d = device.Sysfs; d is not null; d = d.Parent)
        {
            if (AllMatch(d))
            {
                return true;
            }
        }

        return false;
    }

    private bool AllMatch(SysfsDevice device)
    {
        foreach (var (name, pattern) in attributes)
        {
            bool present = device.TryGetAttribute(name, out string value);
            if (!pattern.IsMatch(value, present))
            {
                return false;
            }
        }

        return true;
    }

    public override string? Actual(DeviceView device)
    {
        if (device.Sysfs is null)
        {
            return null;
        }

        // Show the attributes of the nearest device that has the first one, which is usually the one meant.
        for (SysfsDevice? d = device.Sysfs; d is not null; d = d.Parent)
        {
            if (d.TryGetAttribute(attributes[0].Name, out _))
            {
                return "{ " + string.Join(", ", attributes.Select(a => a.Name + ": " + (d.GetAttribute(a.Name) ?? "(none)"))) + " } on " + d.DevPath;
            }
        }

        return null;
    }
}
