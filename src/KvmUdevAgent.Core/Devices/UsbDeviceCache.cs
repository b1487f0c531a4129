using System.Collections.Concurrent;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Devices;

/// <summary>
/// The sysfs side of each present USB device (<c>usb_device</c>), kept from one event to the next:
/// its identity attributes (ids, serial, strings, descriptors) do not change while it is plugged,
/// and every event of the device, its interfaces and its disks reads them. An entry is dropped on
/// the <c>remove</c> of the device or of anything above it, on a coldplug <c>add</c> of the device
/// (start, and the resync after lost events, which may have hidden a remove and a new plug at the
/// same port), and on an event of the device whose <c>DEVNUM</c> is not the one held (a new plug).
/// Thread-safe.
/// </summary>
internal sealed class UsbDeviceCache(string sysfsRoot)
{
    private readonly ConcurrentDictionary<string, SysfsDevice?> _devices = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, UsbInterfaceList> _descriptors = new(StringComparer.Ordinal);

    /// <summary>Number of USB devices held.</summary>
    public int Count => _devices.Count;

    /// <summary>Whether the USB device at <paramref name="devPath"/> is held (its directory existed, and no remove came since).</summary>
    public bool Holds(string devPath) => _devices.TryGetValue(devPath, out SysfsDevice? device) && device is not null;

    /// <summary>The USB device at <paramref name="devPath"/>, or null when its directory does not exist.</summary>
    public SysfsDevice? Get(string devPath)
    {
        if (_devices.TryGetValue(devPath, out SysfsDevice? known))
        {
            return known;
        }

        var device = new SysfsDevice(sysfsRoot, devPath);
        if (!device.Exists)
        {
            // Not kept: it may be about to appear, or it is gone for good.
            return null;
        }

        // Read now, so that the number kept is this plug's: an event with another one is a new plug.
        _ = device.GetAttribute("devnum");
        return _devices.GetOrAdd(devPath, device);
    }

    /// <summary>
    /// The interface list from the <c>descriptors</c> attribute of a device <see cref="Get"/> returned,
    /// read once; null when it cannot be read (not kept: the caller falls back to the interfaces).
    /// </summary>
    public UsbInterfaceList? Descriptors(SysfsDevice usb)
    {
        if (_descriptors.TryGetValue(usb.DevPath, out UsbInterfaceList? known))
        {
            return known;
        }

        if (UsbDescriptors.Read(Path.Join(usb.Directory, UsbDescriptors.AttributeName)) is not { } read)
        {
            return null;
        }

        // Only a clean read, and only while the device is held: a failed read may succeed next time,
        // and a remove racing ahead must not leave a stale list behind.
        if (read.Problem is null && _devices.ContainsKey(usb.DevPath))
        {
            _descriptors[usb.DevPath] = read;
        }

        return read;
    }

    /// <summary>
    /// Drops what <paramref name="uevent"/> makes stale; called with every event, before its view is built.
    /// Returns the USB device held at the event's own DEVPATH after that (what <see cref="Holds"/> and
    /// <see cref="Get"/> would find there), or null: the caller needs not look it up again (issue 15).
    /// </summary>
    public SysfsDevice? Observe(Uevent uevent)
    {
        if (uevent.Action == UeventAction.Remove)
        {
            string path = uevent.DevPath;
            Forget(path);
            if (_devices.IsEmpty)
            {
                return null;
            }

            // A hub or controller going takes every device below it.
            foreach (string key in _devices.Keys)
            {
                if (key.Length > path.Length && key[path.Length] == '/' && key.StartsWith(path, StringComparison.Ordinal))
                {
                    Forget(key);
                }
            }

            return null;
        }

        if (uevent.Coldplug && uevent.Action == UeventAction.Add)
        {
            Forget(uevent.DevPath);
            return null;
        }

        if (!_devices.TryGetValue(uevent.DevPath, out SysfsDevice? held) || held is null)
        {
            return null;
        }

        if (uevent.GetKnownDecimal(UeventKnownKeys.DevNum) is { } devNum && Number(held.GetAttribute("devnum")) != devNum)
        {
            // Another plug at the same port (the kernel numbers each plug anew), whose remove we did
            // not see in time: per-device queues run in parallel, and the kernel sends a remove before
            // the device's directory is gone, so an event of the old device may have read it back.
            Forget(uevent.DevPath);
            return null;
        }

        return held;
    }

    // DEVNUM is "005" in the event, "5" in sysfs.
    private static int? Number(string? text) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) ? n : null;

    private void Forget(string devPath)
    {
        _devices.TryRemove(devPath, out _);
        _descriptors.TryRemove(devPath, out _);
    }
}
