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

/// <summary>One VM as the daemon sees it now.</summary>
public sealed record VmReport
{
    /// <summary>Name from the configuration.</summary>
    public required string Name { get; init; }
    /// <summary>Monitor endpoint.</summary>
    public required string Monitor { get; init; }
    /// <summary>Whether the monitor is connected.</summary>
    public bool Connected { get; init; }
    /// <summary><c>qmp</c> or <c>hmp</c> once connected.</summary>
    public string? Protocol { get; init; }
    /// <summary>QEMU version once connected.</summary>
    public string? QemuVersion { get; init; }
    /// <summary>How many times the monitor has connected.</summary>
    public int Connects { get; init; }
    /// <summary>The <c>kua-</c> devices the state says are attached here.</summary>
    public IReadOnlyList<string> Attached { get; init; } = [];
}

/// <summary>The answer to <c>vms</c>.</summary>
public sealed record VmsReport
{
    /// <summary>Each configured VM.</summary>
    public IReadOnlyList<VmReport> Vms { get; init; } = [];
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
