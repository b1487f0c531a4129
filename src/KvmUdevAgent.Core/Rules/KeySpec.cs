using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// One row of the match-key table. <see cref="Text"/> reads a string-valued key, <see cref="Id"/>
/// a USB id; the list and map kinds are read by their matcher. <see cref="Cost"/> orders a rule's
/// matchers cheapest first. <see cref="KnownAt"/> says from which event on the value is complete when
/// the agent reads it from sysfs (<c>source: kernel</c>), for the docs.
/// </summary>
internal sealed record KeySpec(
    string Name,
    ValueKind Kind,
    bool AllowsNegation,
    bool WalksParents,
    int Cost,
    string Source,
    string Description,
    string Example,
    Func<DeviceView, string?>? Text = null,
    Func<DeviceView, UsbId?>? Id = null,
    string KnownAt = "every event");
