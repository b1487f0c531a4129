namespace KvmUdevAgent.Core.Events;

/// <summary>Property names as the kernel and systemd-udevd spell them.</summary>
public static class UeventKeys
{
    /// <summary>ACTION</summary>
    public const string Action = "ACTION";
    /// <summary>DEVPATH, relative to the sysfs root, starting with <c>/devices</c>.</summary>
    public const string DevPath = "DEVPATH";
    /// <summary>SUBSYSTEM</summary>
    public const string Subsystem = "SUBSYSTEM";
    /// <summary>DEVTYPE</summary>
    public const string DevType = "DEVTYPE";
    /// <summary>DEVNAME, the device node name (relative to /dev in kernel messages).</summary>
    public const string DevName = "DEVNAME";
    /// <summary>SEQNUM, the kernel's monotonically increasing event number.</summary>
    public const string SeqNum = "SEQNUM";
    /// <summary>DRIVER</summary>
    public const string Driver = "DRIVER";
    /// <summary>MAJOR</summary>
    public const string Major = "MAJOR";
    /// <summary>MINOR</summary>
    public const string Minor = "MINOR";
    /// <summary>BUSNUM (USB devices).</summary>
    public const string BusNum = "BUSNUM";
    /// <summary>DEVNUM (USB devices).</summary>
    public const string DevNum = "DEVNUM";
    /// <summary>PRODUCT (USB: <c>vid/pid/bcd</c> in lower-case hex without padding).</summary>
    public const string Product = "PRODUCT";
    /// <summary>INTERFACE (USB interface: <c>class/subclass/protocol</c> in decimal).</summary>
    public const string Interface = "INTERFACE";
    /// <summary>SYNTH_UUID, set when the event was synthesised by writing to a uevent file.</summary>
    public const string SynthUuid = "SYNTH_UUID";
    /// <summary>ID_VENDOR_ID (udev)</summary>
    public const string IdVendorId = "ID_VENDOR_ID";
    /// <summary>ID_MODEL_ID (udev)</summary>
    public const string IdModelId = "ID_MODEL_ID";
    /// <summary>ID_SERIAL_SHORT (udev)</summary>
    public const string IdSerialShort = "ID_SERIAL_SHORT";
    /// <summary>ID_VENDOR (udev)</summary>
    public const string IdVendor = "ID_VENDOR";
    /// <summary>ID_MODEL (udev)</summary>
    public const string IdModel = "ID_MODEL";
    /// <summary>ID_USB_INTERFACES (udev, <c>:080650:</c> style list).</summary>
    public const string IdUsbInterfaces = "ID_USB_INTERFACES";
    /// <summary>ID_FS_LABEL (udev/blkid)</summary>
    public const string IdFsLabel = "ID_FS_LABEL";
    /// <summary>ID_FS_UUID (udev/blkid)</summary>
    public const string IdFsUuid = "ID_FS_UUID";
    /// <summary>ID_FS_TYPE (udev/blkid)</summary>
    public const string IdFsType = "ID_FS_TYPE";
    /// <summary>ID_BUS (udev)</summary>
    public const string IdBus = "ID_BUS";
    /// <summary>USEC_INITIALIZED (udev)</summary>
    public const string UsecInitialized = "USEC_INITIALIZED";

    // Read by the device view and the tracker, not part of the public surface.
    internal const string DevPathOld = "DEVPATH_OLD";
    internal const string IdUsbVendorId = "ID_USB_VENDOR_ID";
    internal const string IdUsbModelId = "ID_USB_MODEL_ID";
    internal const string IdUsbSerialShort = "ID_USB_SERIAL_SHORT";
    internal const string IdVendorEnc = "ID_VENDOR_ENC";
    internal const string IdModelEnc = "ID_MODEL_ENC";
    internal const string IdFsLabelEnc = "ID_FS_LABEL_ENC";
    internal const string IdFsUuidEnc = "ID_FS_UUID_ENC";
}
