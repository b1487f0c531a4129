using System.Text.Json.Serialization;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// One line of a record file (JSON Lines), as <c>monitor --record</c> and <c>monitor --json</c> write it:
/// <c>{"source":"udev","coldplug":false,"time":"2026-11-26T06:20:16.123456+00:00","properties":[{"key":"ACTION","value":"add"},...]}</c>.
/// Properties keep their order and duplicates. A key or value that is not valid UTF-8 is written
/// as <c>key_base64</c>/<c>value_base64</c> instead, so every byte survives the round trip.
/// </summary>
internal sealed class UeventRecordLine
{
    [JsonPropertyName("source")]
    public string? Source { get; set; }

    [JsonPropertyName("coldplug")]
    public bool Coldplug { get; set; }

    [JsonPropertyName("time")]
    public DateTimeOffset? Time { get; set; }

    [JsonPropertyName("properties")]
    public List<UeventRecordProperty>? Properties { get; set; }

    /// <summary>
    /// Not an event property: for a USB device the kernel announced, the interface classes the
    /// agent read from sysfs when the line was written (udev's <c>:ccsspp:</c> form), absent otherwise.
    /// </summary>
    [JsonPropertyName("usb_interfaces")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? UsbInterfaces { get; set; }

    /// <summary>Where <see cref="UsbInterfaces"/> was read from (<c>descriptors</c> or <c>interface children</c>).</summary>
    [JsonPropertyName("usb_interfaces_from")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? UsbInterfacesFrom { get; set; }

    /// <summary>Why <see cref="UsbInterfaces"/> is incomplete, when it is.</summary>
    [JsonPropertyName("usb_interfaces_problem")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? UsbInterfacesProblem { get; set; }
}
