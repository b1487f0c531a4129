using System.Diagnostics;
using System.Text;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Cli;

/// <summary>
/// The human-readable form of an event, after <c>udevadm monitor --property</c>: a header line
/// <c>KERNEL[monotonic seconds] action devpath (subsystem)</c>, then each property indented, then a
/// blank line. Device data is hostile: control characters, backslashes and bytes that are not
/// UTF-8 are shown as <c>\xNN</c> so nothing reaches the terminal raw.
/// </summary>
internal static class MonitorText
{
    /// <param name="uevent">The event.</param>
    /// <param name="interfaces">
    /// For a USB device announced by the kernel (or coldplug): its interface classes as read from its
    /// <c>descriptors</c> attribute, printed after the properties as a line of our own, never as one of them.
    /// </param>
    public static string Format(Uevent uevent, string? interfaces = null)
    {
        var text = new StringBuilder(512);
        // Stopwatch ticks are CLOCK_MONOTONIC on Linux, the clock udevadm prints.
        long ticks = uevent.ReceivedTimestamp;
        long seconds = ticks / Stopwatch.Frequency;
        long micros = ticks % Stopwatch.Frequency * 1_000_000 / Stopwatch.Frequency;
        string label = uevent.Coldplug ? "COLDPLUG" : uevent.Source switch
        {
            UeventSource.Kernel => "KERNEL",
            UeventSource.Udev => "UDEV",
            UeventSource.Sysfs => "SYSFS",
            UeventSource.Replay => "REPLAY",
            _ => "UNKNOWN",
        };
        text.Append(label).Append('[').Append(seconds).Append('.').Append(micros.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)).Append("] ");
        uevent.TryGetValue("ACTION"u8, out var action);
        AppendEscaped(text, action);
        text.Append(' ', Math.Max(1, 9 - action.Length));
        uevent.TryGetValue("DEVPATH"u8, out var devPath);
        AppendEscaped(text, devPath);
        text.Append(" (");
        uevent.TryGetValue("SUBSYSTEM"u8, out var subsystem);
        AppendEscaped(text, subsystem);
        text.Append(")\n");
        for (int i = 0; i < uevent.PropertyCount; i++)
        {
            uevent.GetProperty(i, out var key, out var value);
            text.Append("  ");
            AppendEscaped(text, key);
            text.Append('=');
            AppendEscaped(text, value);
            text.Append('\n');
        }

        if (interfaces is not null)
        {
            text.Append("  (").Append(interfaces).Append(")\n");
        }

        return text.Append('\n').ToString();
    }

    internal static void AppendEscaped(StringBuilder text, ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            // Decode one scalar at a time; anything invalid or unprintable is shown byte by byte.
            System.Buffers.OperationStatus status = Rune.DecodeFromUtf8(bytes, out Rune rune, out int consumed);
            if (status == System.Buffers.OperationStatus.Done && !Rune.IsControl(rune) && rune.Value != '\\' && rune.Value is not (0x2028 or 0x2029) && !IsBidiControl(rune))
            {
                text.Append(rune.ToString());
            }
            else
            {
                for (int i = 0; i < Math.Max(consumed, 1); i++)
                {
                    text.Append("\\x").Append(bytes[i].ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            bytes = bytes[Math.Max(consumed, 1)..];
        }
    }

    // Right-to-left overrides and isolates can make a terminal show text in another order than it is.
    private static bool IsBidiControl(Rune rune) => rune.Value is (>= 0x202a and <= 0x202e) or (>= 0x2066 and <= 0x2069) or 0x200e or 0x200f;
}
