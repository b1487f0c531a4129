using System.Net.Sockets;
using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// Asks each VM's monitor, once and read-only, for its QEMU version and the agent's devices
/// (<c>kvm-udev-agent vms</c> without the daemon). QEMU serves one client per monitor, so a VM
/// whose monitor a running daemon holds shows as unreachable with a hint saying so.
/// </summary>
public static class VmStatusProbe
{
    internal static async Task<VmStatus> ProbeAsync(VmConfig vm, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var status = new VmStatus { Name = vm.Name, Monitor = vm.Monitor, ConfiguredProtocol = ProtocolName(vm.Protocol) ?? "auto", ProxmoxVmid = vm.ProxmoxVmid, ProxmoxName = ProxmoxVmName.Read(vm) };
        if (!MonitorEndpoint.TryParse(vm.Monitor, out MonitorEndpoint endpoint, out string? reason))
        {
            return status with { Error = "bad monitor address: " + reason };
        }

        try
        {
            await using IMonitorConnection connection = await MonitorConnector.ConnectAsync(endpoint, vm.Protocol, timeout, null, cancellationToken).ConfigureAwait(false);
            status = status with { Reachable = true, Protocol = ProtocolName(connection.Protocol), QemuVersion = connection.Version.ToString() };
            AgentDeviceList devices = await new MonitorCommands(connection).ListAgentDevicesAsync(cancellationToken).ConfigureAwait(false);
            return status with { Devices = devices.Devices, BlockNodes = devices.BlockNodes };
        }
        catch (SocketException e)
        {
            return status with { Error = e.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection refused (is the VM running?)",
                SocketError.AddressNotAvailable or SocketError.HostNotFound => "no such host or socket (is the VM running?)",
                _ => e.Message,
            } };
        }
        catch (Exception e) when (e is MonitorException or IOException)
        {
            return status with { Error = e.Message };
        }
    }

    /// <summary>Checks a <c>monitor:</c> value (<c>unix:/path</c>, <c>tcp:host:port</c>, <c>telnet:host:port</c>).</summary>
    public static bool IsValidMonitor(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? reason) =>
        MonitorEndpoint.TryParse(text, out _, out reason);

    /// <summary>The statuses as indented JSON with snake_case keys (source-generated, NativeAOT-safe).</summary>
    /// <summary>Source-generated JSON contract of a status list (the daemon's <c>vms</c> answer uses it too).</summary>
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<VmStatus[]> JsonType => s_json.VmStatusArray;

    /// <summary>Source-generated JSON contract of a <c>monitor-command</c> answer.</summary>
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<MonitorCommandAnswer> CommandAnswerJsonType => s_json.MonitorCommandAnswer;

    /// <summary>Serialises <paramref name="statuses"/> as a JSON array.</summary>
    public static string ToJson(VmStatus[] statuses) => System.Text.Json.JsonSerializer.Serialize(statuses, s_json.VmStatusArray);

    // Terminal and script output, not HTML: keep '+' and non-ASCII readable; quotes and control
    // characters are still escaped.
    private static readonly QemuJsonContext s_json = new(new System.Text.Json.JsonSerializerOptions(QemuJsonContext.Default.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>The human-readable listing: one line per VM, one indented line per agent device.</summary>
    public static string FormatText(IReadOnlyList<VmStatus> statuses)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        var text = new System.Text.StringBuilder();
        foreach (VmStatus vm in statuses)
        {
            text.Append(vm.Name);
            if (vm.ProxmoxVmid is int vmid)
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $" (Proxmox {vmid}{(vm.ProxmoxName is { } pve ? ": " + pve : "")})");
            }

            text.Append("  ").Append(vm.Monitor).Append("  ");
            if (!vm.Reachable)
            {
                text.Append("unreachable: ").Append(vm.Error).Append('\n');
                continue;
            }

            if (vm.Uri is not null)
            {
                text.Append("libvirt ").Append(vm.Uri).Append("  ").Append(vm.State).Append('\n');
            }
            else
            {
                text.Append(vm.Protocol).Append("  QEMU ").Append(vm.QemuVersion).Append('\n');
            }

            if (vm.Devices.Count == 0)
            {
                text.Append("  (no devices attached by the agent)\n");
            }

            foreach (AgentDevice device in vm.Devices)
            {
                text.Append("  ").Append(device.Id).Append("  ").Append(device.Driver);
                if (device.HostBus is not null)
                {
                    text.Append(System.Globalization.CultureInfo.InvariantCulture, $"  bus {device.HostBus} port {device.HostPort}  {device.VendorId}:{device.ProductId}");
                }
                else if (device.Drive is not null)
                {
                    text.Append("  drive ").Append(device.Drive.Length == 0 ? "(released)" : device.Drive);
                }

                text.Append('\n');
            }
        }

        return text.ToString();
    }

    internal static string? ProtocolName(MonitorProtocol protocol) => protocol switch
    {
        MonitorProtocol.Qmp => "qmp",
        MonitorProtocol.Hmp => "hmp",
        MonitorProtocol.Auto => "auto",
        _ => null,
    };
}
