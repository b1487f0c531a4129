using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// Writes events as JSON Lines, one object per event (the format <see cref="UeventRecordReader"/>
/// reads; see <c>UeventRecordLine</c>): source, coldplug flag, wall-clock receive time and every
/// property in arrival order, non-UTF-8 bytes as base64. Each line is flushed as it is written,
/// so an interrupted recording is still complete up to its last event. Not thread-safe.
/// </summary>
public sealed class UeventRecordWriter : IDisposable, IAsyncDisposable
{
    private static readonly byte[] s_newline = "\n"u8.ToArray();
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private int _disposed;

    /// <summary>Writes to <paramref name="stream"/>; disposes it when disposed if <paramref name="ownsStream"/>.</summary>
    public UeventRecordWriter(Stream stream, bool ownsStream = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _ownsStream = ownsStream;
    }

    /// <summary>Creates (or truncates) <paramref name="path"/> and writes to it.</summary>
    public static UeventRecordWriter Create(string path) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read));

    /// <summary>Appends one line for <paramref name="uevent"/>, flushes, and returns the line (without its newline).</summary>
    /// <param name="uevent">The event.</param>
    /// <param name="sysfsIdentity">
    /// For a USB device the kernel announced, what the agent read from sysfs for it: its interface
    /// classes are written alongside the properties (<c>usb_interfaces</c>). Null writes the event alone.
    /// </param>
    public string Write(Uevent uevent, Devices.DeviceIdentity? sysfsIdentity = null)
    {
        string json = ToJson(uevent, sysfsIdentity);
        _stream.Write(Encoding.UTF8.GetBytes(json));
        _stream.Write(s_newline);
        _stream.Flush();
        return json;
    }

    /// <summary>The record line for <paramref name="uevent"/>, without the newline.</summary>
    /// <param name="uevent">The event.</param>
    /// <param name="sysfsIdentity">As for <see cref="Write"/>.</param>
    public static string ToJson(Uevent uevent, Devices.DeviceIdentity? sysfsIdentity = null)
    {
        ArgumentNullException.ThrowIfNull(uevent);
        UeventRecordLine line = ToLine(uevent);
        if (sysfsIdentity is not null && (sysfsIdentity.InterfacesSource != Devices.UsbInterfaceSource.Unknown || sysfsIdentity.InterfacesProblem is not null))
        {
            line.UsbInterfaces = Devices.UsbDescriptors.ToUdevString(sysfsIdentity.Interfaces);
            line.UsbInterfacesFrom = Rules.PlanDevice.InterfaceSourceName(sysfsIdentity.InterfacesSource);
            line.UsbInterfacesProblem = sysfsIdentity.InterfacesProblem;
        }

        return JsonSerializer.Serialize(line, UeventRecordJsonContext.Default.UeventRecordLine);
    }

    internal static UeventRecordLine ToLine(Uevent uevent)
    {
        var properties = new List<UeventRecordProperty>(uevent.PropertyCount);
        for (int i = 0; i < uevent.PropertyCount; i++)
        {
            uevent.GetProperty(i, out var key, out var value);
            var property = new UeventRecordProperty();
            if (Utf8.IsValid(key))
            {
                property.Key = Encoding.UTF8.GetString(key);
            }
            else
            {
                property.KeyBase64 = key.ToArray();
            }

            if (Utf8.IsValid(value))
            {
                property.Value = Encoding.UTF8.GetString(value);
            }
            else
            {
                property.ValueBase64 = value.ToArray();
            }

            properties.Add(property);
        }

        DateTimeOffset time = uevent.ReceivedTimestamp == 0
            ? DateTimeOffset.UtcNow
            : DateTimeOffset.UtcNow - Stopwatch.GetElapsedTime(uevent.ReceivedTimestamp);
        return new UeventRecordLine
        {
            Source = SourceName(uevent.Source),
            Coldplug = uevent.Coldplug,
            Time = time,
            Properties = properties,
        };
    }

    internal static string SourceName(UeventSource source) => source switch
    {
        UeventSource.Kernel => "kernel",
        UeventSource.Udev => "udev",
        UeventSource.Sysfs => "sysfs",
        UeventSource.Replay => "replay",
        _ => "unknown",
    };

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _ownsStream)
        {
            _stream.Dispose();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _ownsStream)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
    }
}
