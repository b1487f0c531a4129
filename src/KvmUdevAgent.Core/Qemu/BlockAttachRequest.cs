using System.Diagnostics.CodeAnalysis;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// A host block device (<c>/dev/sdb</c>, <c>/dev/loop3</c>) to give a VM as <c>usb-storage</c> or
/// <c>virtio-blk-pci</c>. Create with <c>TryCreate</c>, which validates every part that could reach a monitor.
/// </summary>
internal sealed record BlockAttachRequest : AttachRequest
{
    private BlockAttachRequest(string devNode, BlockDeviceModel model, bool readOnly, string? identityKey, string? guestSerial, string? pciBus)
    {
        DevNode = devNode;
        Model = model;
        ReadOnly = readOnly;
        IdentityKey = identityKey;
        GuestSerial = guestSerial;
        PciBus = pciBus;
        Id = QemuDeviceId.ForBlock(model, readOnly, devNode, identityKey);
    }

    /// <summary>Absolute device node under <c>/dev</c>, charset <c>[A-Za-z0-9_./-]</c>.</summary>
    public string DevNode { get; }

    public BlockDeviceModel Model { get; }

    public bool ReadOnly { get; }

    /// <summary>What tells this drive from an identical one (e.g. vendor:product:serial); hostile, only hashed into the id.</summary>
    public string? IdentityKey { get; }

    /// <summary>
    /// Serial number shown to the guest (QEMU's <c>serial</c> device property), usually the host
    /// drive's. Hostile: sent over QMP as an escaped JSON value, over HMP only when
    /// <see cref="Qemu.GuestSerial.Choose"/> finds it strict.
    /// </summary>
    public string? GuestSerial { get; }

    /// <summary>Whether a <c>usb-storage</c> guest sees a removable disk (QEMU's <c>removable</c>); a flash drive is.</summary>
    public bool Removable { get; init; }

    /// <summary>PCI bus for <c>virtio-blk-pci</c> (a <c>pcie-root-port</c> id on q35); null to find a free one.</summary>
    public string? PciBus { get; }

    public string NodeName => QemuDeviceId.NodeOf(Id);

    public override string Id { get; }

    /// <summary>
    /// Builds the request for a block device as the daemon sees it: its node, and an identity key
    /// from the USB vendor:product:serial and port path plus the filesystem UUID, so two identical
    /// drives differ. The device's serial is shown to the guest; <paramref name="removable"/> is the
    /// plan's (<see cref="Rules.PlannedAttach.Removable"/>: the rule's, else the host disk's).
    /// </summary>
    public static bool TryCreate(
        Devices.DeviceIdentity identity,
        BlockDeviceModel model,
        bool readOnly,
        bool removable,
        string? pciBus,
        [NotNullWhen(true)] out BlockAttachRequest? request,
        [NotNullWhen(false)] out string? reason)
    {
        ArgumentNullException.ThrowIfNull(identity);
        string identityKey = string.Join('\n', identity.Vendor?.ToString(), identity.Product?.ToString(), identity.Serial, identity.BusNum?.ToString(System.Globalization.CultureInfo.InvariantCulture), identity.PortPath, identity.FsUuid);
        if (!TryCreate(identity.DevNode, model, readOnly, identityKey, identity.Serial, pciBus, out request, out reason))
        {
            return false;
        }

        request = request with { Removable = model == BlockDeviceModel.UsbStorage && removable };
        return true;
    }

    public static bool TryCreate(
        string? devNode,
        BlockDeviceModel model,
        bool readOnly,
        string? identityKey,
        string? guestSerial,
        string? pciBus,
        [NotNullWhen(true)] out BlockAttachRequest? request,
        [NotNullWhen(false)] out string? reason)
    {
        request = null;
        if (devNode is null || !devNode.StartsWith("/dev/", StringComparison.Ordinal) || devNode.Contains("/../", StringComparison.Ordinal) || !HmpLine.IsSafe(devNode))
        {
            reason = "the device node must be an absolute path under /dev/ made of [A-Za-z0-9_./-]";
            return false;
        }

        if (model is not (BlockDeviceModel.UsbStorage or BlockDeviceModel.VirtioBlk))
        {
            reason = "the block device model must be usb-storage or virtio-blk";
            return false;
        }

        if (pciBus is not null && (!HmpLine.IsSafe(pciBus) || !char.IsAsciiLetter(pciBus[0])))
        {
            reason = "the PCI bus must be a QEMU id ([A-Za-z][A-Za-z0-9_.-]*)";
            return false;
        }

        request = new BlockAttachRequest(devNode, model, readOnly, identityKey, guestSerial, pciBus);
        reason = null;
        return true;
    }
}
