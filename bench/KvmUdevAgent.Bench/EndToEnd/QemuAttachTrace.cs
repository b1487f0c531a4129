using System.Globalization;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// QEMU's own clock for "the device is in QEMU" (issue 15): its <c>usb_port_attach</c> trace event,
/// which it logs while it realizes a USB device on a port, before it answers <c>device_add</c>.
/// The harness's <c>qom-list</c> poll sees the device only on its next round after that, on CPUs
/// that QEMU, the poll and whoever is at work after the answer share; this clock does not wait for
/// any of them. QEMU writes the line with the wall-clock time in microseconds
/// (<c>pid@seconds.micros:usb_port_attach …</c>, from <c>-msg timestamp=on</c>) and flushes it
/// before it answers, so it is in the file once the poll lists the device.
/// </summary>
internal sealed class QemuAttachTrace : IDisposable
{
    private const string Event = "usb_port_attach";
    private readonly StreamReader _reader;

    private QemuAttachTrace(StreamReader reader) => _reader = reader;

    /// <summary>The QEMU arguments that log <c>usb_port_attach</c> with its time to <paramref name="path"/>.</summary>
    public static string[] Arguments(string path) => ["-trace", "enable=" + Event, "-D", path, "-msg", "timestamp=on"];

    /// <summary>Opens the log QEMU writes (started with <see cref="Arguments"/>); what is in it already is skipped.</summary>
    public static QemuAttachTrace Open(string path)
    {
        var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        var trace = new QemuAttachTrace(reader);
        trace.TakeOne();
        return trace;
    }

    /// <summary>
    /// The time of the one <c>usb_port_attach</c> logged since the last call; null if there was none or
    /// more than one (each turn of the bench attaches one device, so anything else is a turn this
    /// clock cannot time).
    /// </summary>
    public DateTime? TakeOne()
    {
        DateTime? first = null;
        int count = 0;
        while (_reader.ReadLine() is { } line)
        {
            if (TryParse(line, out DateTime at))
            {
                first ??= at;
                count++;
            }
        }

        return count == 1 ? first : null;
    }

    /// <summary>Reads <c>pid@seconds.micros:usb_port_attach …</c>.</summary>
    internal static bool TryParse(string line, out DateTime at)
    {
        at = default;
        int colon = line.IndexOf(":" + Event + " ", StringComparison.Ordinal);
        int atSign = colon < 0 ? -1 : line.LastIndexOf('@', colon);
        int dot = atSign < 0 ? -1 : line.IndexOf('.', atSign, colon - atSign);
        if (dot < 0
            || !long.TryParse(line.AsSpan(atSign + 1, dot - atSign - 1), NumberStyles.None, CultureInfo.InvariantCulture, out long seconds)
            || colon - dot - 1 != 6
            || !int.TryParse(line.AsSpan(dot + 1, 6), NumberStyles.None, CultureInfo.InvariantCulture, out int micros))
        {
            return false;
        }

        at = DateTime.UnixEpoch.AddTicks((seconds * TimeSpan.TicksPerSecond) + (micros * TimeSpan.TicksPerMicrosecond));
        return true;
    }

    public void Dispose() => _reader.Dispose();
}
