namespace KvmUdevAgent.Core.Agent;

/// <summary>One present device as <c>devices</c> shows it: who it is, which rule routes it, where it is now.</summary>
public sealed record DeviceReport
{
    /// <summary>DEVPATH.</summary>
    public required string DevPath { get; init; }
    /// <summary>Kernel name.</summary>
    public required string Kernel { get; init; }
    /// <summary>SUBSYSTEM.</summary>
    public required string Subsystem { get; init; }
    /// <summary>DEVTYPE, if any.</summary>
    public string? DevType { get; init; }
    /// <summary>USB vendor id.</summary>
    public string? Vendor { get; init; }
    /// <summary>USB product id.</summary>
    public string? Product { get; init; }
    /// <summary>Serial (device data, raw).</summary>
    public string? Serial { get; init; }
    /// <summary>Filesystem label (device data, raw).</summary>
    public string? Label { get; init; }
    /// <summary>Device node.</summary>
    public string? DevNode { get; init; }
    /// <summary>Rules whose actions apply to it now, in order.</summary>
    public IReadOnlyList<string> Rules { get; init; } = [];
    /// <summary>What the plan would do, one entry per action.</summary>
    public IReadOnlyList<string> Plan { get; init; } = [];
    /// <summary>Where it is: <c>vm:NAME (ID)</c> or <c>mount:PATH</c>, from the state.</summary>
    public IReadOnlyList<string> Placement { get; init; } = [];
}

/// <summary>The answer to <c>devices</c>.</summary>
public sealed record DevicesReport
{
    /// <summary>Present devices that a rule routes or that the agent placed, sorted by DEVPATH.</summary>
    public IReadOnlyList<DeviceReport> Devices { get; init; } = [];
    /// <summary>Number of present devices the agent tracks (routed or not).</summary>
    public int Tracked { get; init; }
}

/// <summary>The answer to <c>attach</c> and <c>detach</c>.</summary>
public sealed record ManualActionReport
{
    /// <summary>DEVPATH of the device acted on.</summary>
    public required string DevPath { get; init; }
    /// <summary>What was done.</summary>
    public required string Action { get; init; }
    /// <summary>VM name.</summary>
    public string? Vm { get; init; }
    /// <summary>Whether it worked; the audit record has the details.</summary>
    public bool Succeeded { get; init; }
}
