namespace KvmUdevAgent.Core.Qemu;

/// <summary>What the agent does to a VM, the same over QMP and HMP.</summary>
internal interface IVmMonitor : Vms.IVmDevices
{
    /// <summary><c>device_add usb-host</c> with hostbus, hostport, vendorid, productid; no-op when the id is present.</summary>
    Task<AttachResult> AttachUsbHostAsync(UsbHostDevice device, CancellationToken cancellationToken);

    /// <summary>Block backend on the device node, then <c>usb-storage</c> or <c>virtio-blk-pci</c>; no-op when the id is present.</summary>
    Task<AttachResult> AttachBlockAsync(BlockAttachRequest request, CancellationToken cancellationToken);

    Task<QemuVersion> QueryVersionAsync(CancellationToken cancellationToken);

    /// <summary>A command the administrator typed (QMP JSON, or an HMP line with <paramref name="hmp"/>); QEMU's answer.</summary>
    Task<MonitorCommandAnswer> RunCommandAsync(string vm, string command, bool hmp, CancellationToken cancellationToken);
}
