using System.Collections.Immutable;
using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace KvmUdevAgent.Core.Configuration;

/// <summary>
/// Reads <c>agent.yaml</c>. Uses YamlDotNet's representation model (no reflection, so it is
/// NativeAOT-safe) to keep every node's position for diagnostics. All problems are collected in
/// one pass; an unknown key is an error, never silently ignored.
/// </summary>
public static partial class AgentConfigLoader
{
    /// <summary>The configuration file used when none is named.</summary>
    public const string DefaultPath = "/etc/kvm-udev-agent/agent.yaml";

    private static readonly string[] s_topKeys =
        ["source", "sysfs_root", "rules_dir", "state_file", "control_socket", "control_group", "mount_base", "receive_buffer", "vms", "audit", "proxmox_run_dir", "proxmox_config_dir", "log"];

    private static readonly string[] s_vmKeys = ["monitor", "protocol", "connection", "probe_interval", "pass_fds", "proxmox", "migration", "libvirt", "uri"];
    private static readonly string[] s_monitorOnlyKeys = ["protocol", "connection", "probe_interval", "pass_fds", "proxmox", "migration"];
    private static readonly string[] s_auditKeys = ["syslog", "facility", "app_name", "enterprise_id"];

    /// <summary>The keys the loader accepts, by section, for the manual page.</summary>
    internal static (string Section, IReadOnlyList<string> Keys)[] Keys =>
        [("top level", s_topKeys), ("vms.NAME", s_vmKeys), ("audit", s_auditKeys)];

    /// <summary>
    /// Loads <paramref name="path"/>. A missing file gives all defaults (with <see cref="AgentConfig.FilePath"/>
    /// null) unless <paramref name="mustExist"/>. Returns false when there is any error; the diagnostics say why.
    /// </summary>
    public static bool TryLoad(string path, bool mustExist, out AgentConfig config, out IReadOnlyList<ConfigDiagnostic> diagnostics)
    {
        config = new AgentConfig();
        string fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            if (mustExist)
            {
                diagnostics = [new ConfigDiagnostic(path, 0, 0, true, "no-file", "no such file")];
                return false;
            }

            diagnostics = [];
            return true;
        }

        string text;
        try
        {
            text = File.ReadAllText(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            diagnostics = [new ConfigDiagnostic(path, 0, 0, true, "unreadable", e.Message)];
            return false;
        }

        var parsed = Parse(text, path, Path.GetDirectoryName(fullPath)!, out var list);
        diagnostics = list;
        if (list.Any(d => d.IsError))
        {
            return false;
        }

        config = parsed with { FilePath = fullPath };
        return true;
    }

    /// <summary>Parses configuration text; relative paths resolve against <paramref name="baseDirectory"/>.</summary>
    internal static AgentConfig Parse(string text, string fileName, string baseDirectory, out List<ConfigDiagnostic> diagnostics)
    {
        var diags = new List<ConfigDiagnostic>();
        diagnostics = diags;
        var config = new AgentConfig();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            diags.Add(new ConfigDiagnostic(fileName, (int)e.Start.Line, (int)e.Start.Column, true, "yaml-syntax", e.InnerException?.Message ?? e.Message));
            return config;
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return config;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            Error(stream.Documents[0].RootNode, "wrong-type", "expected a mapping of settings at the top level");
            return config;
        }

        foreach (var (keyNode, valueNode) in root.Children)
        {
            string key = ((YamlScalarNode)keyNode).Value ?? string.Empty;
            switch (key)
            {
                case "source":
                    if (Scalar(valueNode) is { } source)
                    {
                        SourceKind kind = source switch { "auto" => SourceKind.Auto, "udev" => SourceKind.Udev, "kernel" => SourceKind.Kernel, _ => SourceKind.Unknown };
                        if (kind == SourceKind.Unknown)
                        {
                            Error(valueNode, "bad-value", $"unknown source '{source}'; expected one of: auto, udev, kernel");
                        }
                        else
                        {
                            config = config with { Source = kind };
                        }
                    }

                    break;
                case "sysfs_root":
                    if (PathValue(valueNode) is { } sysfs) { config = config with { SysfsRoot = sysfs }; }
                    break;
                case "rules_dir":
                    if (PathValue(valueNode) is { } rules) { config = config with { RulesDir = rules }; }
                    break;
                case "state_file":
                    if (PathValue(valueNode) is { } state) { config = config with { StateFile = state }; }
                    break;
                case "control_socket":
                    if (PathValue(valueNode) is { } socket) { config = config with { ControlSocket = socket }; }
                    break;
                case "mount_base":
                    if (PathValue(valueNode) is { } mountBase) { config = config with { MountBase = mountBase }; }
                    break;
                case "control_group":
                    if (Scalar(valueNode) is { } group)
                    {
                        if (group.Length == 0 || !group.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
                        {
                            Error(valueNode, "bad-value", $"'{group}' is not a valid group name");
                        }
                        else
                        {
                            config = config with { ControlGroup = group };
                        }
                    }

                    break;
                case "receive_buffer":
                    if (Scalar(valueNode) is { } size)
                    {
                        if (TryParseSize(size, out long bytes) && bytes >= 4096 && bytes <= 1L << 30)
                        {
                            config = config with { ReceiveBufferBytes = (int)bytes };
                        }
                        else
                        {
                            Error(valueNode, "bad-value", $"'{size}' is not a buffer size between 4KiB and 1GiB (e.g. 16MiB, 65536)");
                        }
                    }

                    break;
                case "vms":
                    config = config with { Vms = ParseVms(valueNode) };
                    break;
                case "audit":
                    config = config with { Audit = ParseAudit(valueNode) };
                    break;
                case "log":
                    if (Scalar(valueNode) is { } log)
                    {
                        LogTarget target = log switch { "stderr" => LogTarget.Stderr, "syslog" => LogTarget.Syslog, _ => LogTarget.Unknown };
                        if (target == LogTarget.Unknown)
                        {
                            Error(valueNode, "bad-value", $"unknown log target '{log}'; expected one of: stderr, syslog");
                        }
                        else
                        {
                            config = config with { Log = target };
                        }
                    }

                    break;
                case "proxmox_run_dir":
                    if (PathValue(valueNode) is { } proxmoxRun) { config = config with { ProxmoxRunDir = proxmoxRun }; }
                    break;
                case "proxmox_config_dir":
                    if (PathValue(valueNode) is { } proxmoxConfig) { config = config with { ProxmoxConfigDir = proxmoxConfig }; }
                    break;
                default:
                    Error(keyNode, "unknown-key", UnknownKey(key, s_topKeys));
                    break;
            }
        }

        // Proxmox VMs get their monitor from proxmox_run_dir, wherever that key is in the file.
        return ResolveProxmox(config);

        ImmutableDictionary<string, VmConfig> ParseVms(YamlNode node)
        {
            var builder = ImmutableDictionary.CreateBuilder<string, VmConfig>(StringComparer.Ordinal);
            if (node is YamlScalarNode { Value: null or "" })
            {
                return builder.ToImmutable();
            }

            if (node is not YamlMappingNode vms)
            {
                Error(node, "wrong-type", "expected a mapping of VM names to { monitor: ..., protocol: ... }");
                return builder.ToImmutable();
            }

            foreach (var (nameNode, vmNode) in vms.Children)
            {
                string name = ((YamlScalarNode)nameNode).Value ?? string.Empty;
                if (!IsVmName(name))
                {
                    Error(nameNode, "bad-vm-name", $"'{name}' is not a valid VM name; use letters, digits, '-', '_' and '.', starting with a letter or digit (at most 64)");
                    continue;
                }

                if (vmNode is not YamlMappingNode vm)
                {
                    Error(vmNode, "wrong-type", $"VM '{name}': expected a mapping with 'monitor' (and optionally 'protocol')");
                    continue;
                }

                string? monitor = null;
                string? libvirt = null;
                string? uri = null;
                MonitorProtocol protocol = MonitorProtocol.Auto;
                var sharing = new VmConfig { Name = name, Monitor = string.Empty };
                MigrationPolicy migration = MigrationPolicy.Guard;
                foreach (var (k, v) in vm.Children)
                {
                    string vmKey = ((YamlScalarNode)k).Value ?? string.Empty;
                    switch (vmKey)
                    {
                        case "monitor":
                            monitor = Scalar(v);
                            if (monitor is not null && !IsMonitorForm(monitor, out string? why))
                            {
                                Error(v, "bad-monitor", $"VM '{name}': {why}");
                                monitor = null;
                            }
                            else if (monitor is not null && monitor.StartsWith("unix:", StringComparison.Ordinal) && !Path.IsPathRooted(monitor[5..]))
                            {
                                monitor = "unix:" + Path.GetFullPath(Path.Join(baseDirectory, monitor[5..]));
                            }

                            break;
                        case "protocol":
                            if (Scalar(v) is { } p)
                            {
                                protocol = p switch { "auto" => MonitorProtocol.Auto, "qmp" => MonitorProtocol.Qmp, "hmp" => MonitorProtocol.Hmp, _ => MonitorProtocol.Unknown };
                                if (protocol == MonitorProtocol.Unknown)
                                {
                                    Error(v, "bad-value", $"VM '{name}': unknown protocol '{p}'; expected one of: auto, qmp, hmp");
                                }
                            }

                            break;
                        case "libvirt":
                            libvirt = Scalar(v);
                            if (string.IsNullOrEmpty(libvirt) || libvirt.Contains('\0', StringComparison.Ordinal))
                            {
                                Error(v, "bad-value", $"VM '{name}': libvirt: expected the libvirt domain name (as 'virsh list --all' shows it)");
                                libvirt = null;
                            }

                            break;
                        case "uri":
                            uri = Scalar(v);
                            if (string.IsNullOrEmpty(uri) || !uri.Contains("://", StringComparison.Ordinal) || uri.Contains('\0', StringComparison.Ordinal))
                            {
                                Error(v, "bad-value", $"VM '{name}': uri: expected a libvirt URI, e.g. qemu:///system");
                                uri = null;
                            }

                            break;
                        case "connection" or "probe_interval" or "pass_fds" or "proxmox":
                            if (Scalar(v) is { } text)
                            {
                                if (TryParseSharingKey(vmKey, text, sharing, out VmConfig parsed, out string? problem))
                                {
                                    sharing = parsed;
                                }
                                else
                                {
                                    Error(v, "bad-value", $"VM '{name}': {problem}");
                                }
                            }

                            break;
                        case "migration":
                            if (Scalar(v) is { } m)
                            {
                                migration = ParseMigrationPolicy(m);
                                if (migration == MigrationPolicy.Unknown)
                                {
                                    Error(v, "bad-value", $"VM '{name}': unknown migration policy '{m}'; expected one of: guard, allow");
                                }
                            }

                            break;
                        default:
                            Error(k, "unknown-key", $"VM '{name}': {UnknownKey(vmKey, s_vmKeys)}");
                            break;
                    }
                }

                bool hasMonitor = vm.Children.ContainsKey(new YamlScalarNode("monitor"));
                bool hasLibvirt = vm.Children.ContainsKey(new YamlScalarNode("libvirt"));
                if (hasMonitor && hasLibvirt)
                {
                    Error(vm, "conflicting-keys", $"VM '{name}': give either 'monitor' (a QEMU monitor) or 'libvirt' (a domain libvirt manages), not both");
                    continue;
                }

                if (hasLibvirt)
                {
                    if (s_monitorOnlyKeys.FirstOrDefault(key => vm.Children.ContainsKey(new YamlScalarNode(key))) is { } monitorKey)
                    {
                        Error(vm, "conflicting-keys", $"VM '{name}': '{monitorKey}' is for a QEMU monitor; a libvirt domain is reached through libvirt");
                        continue;
                    }

                    if (libvirt is not null && (uri is not null || !vm.Children.ContainsKey(new YamlScalarNode("uri"))))
                    {
                        builder[name] = new VmConfig { Name = name, Libvirt = libvirt, Uri = uri ?? VmConfig.DefaultLibvirtUri };
                    }

                    continue;
                }

                if (vm.Children.ContainsKey(new YamlScalarNode("uri")))
                {
                    Error(vm, "conflicting-keys", $"VM '{name}': 'uri' belongs with 'libvirt: DOMAIN'");
                    continue;
                }

                if (CheckSharing(sharing, monitor is not null || vm.Children.ContainsKey(new YamlScalarNode("monitor")), protocol, vm.Children.ContainsKey(new YamlScalarNode("connection"))) is { } conflict)
                {
                    Error(vm, "bad-value", $"VM '{name}': {conflict}");
                    continue;
                }

                if (sharing.ProxmoxVmid is not null)
                {
                    builder[name] = sharing with { Protocol = MonitorProtocol.Qmp, Migration = migration };
                    continue;
                }

                if (monitor is null)
                {
                    if (!hasMonitor)
                    {
                        Error(vm, "missing-key", $"VM '{name}': 'monitor' is required (unix:/path, tcp:host:port or telnet:host:port), or 'proxmox: VMID' for a Proxmox VE VM, or 'libvirt: DOMAIN' for a domain libvirt manages");
                    }

                    continue;
                }

                builder[name] = sharing with { Monitor = monitor, Protocol = protocol, Migration = migration };
            }

            return builder.ToImmutable();
        }

        AuditConfig ParseAudit(YamlNode node)
        {
            var audit = new AuditConfig();
            if (node is not YamlMappingNode map)
            {
                Error(node, "wrong-type", "expected a mapping with syslog, facility, app_name");
                return audit;
            }

            foreach (var (k, v) in map.Children)
            {
                string auditKey = ((YamlScalarNode)k).Value ?? string.Empty;
                string? value = Scalar(v);
                if (value is null && auditKey is "syslog" or "facility" or "app_name" or "enterprise_id")
                {
                    continue;
                }

                switch (auditKey)
                {
                    case "syslog":
                        if (value == "off" || IsSyslogForm(value!))
                        {
                            audit = audit with { Syslog = value! };
                        }
                        else
                        {
                            Error(v, "bad-value", $"'{value}' is not a syslog target; expected unix:/path, udp:host:port, tcp:host:port or off");
                        }

                        break;
                    case "facility":
                        if (SyslogFacilities.Contains(value!))
                        {
                            audit = audit with { Facility = value! };
                        }
                        else
                        {
                            Error(v, "bad-value", $"unknown syslog facility '{value}'; expected one of: {string.Join(", ", SyslogFacilities)}");
                        }

                        break;
                    case "app_name":
                        if (value!.Length is > 0 and <= 48 && value.All(c => c is > ' ' and < (char)127))
                        {
                            audit = audit with { AppName = value };
                        }
                        else
                        {
                            Error(v, "bad-value", "app_name must be 1 to 48 printable ASCII characters without spaces (RFC 5424 APP-NAME)");
                        }

                        break;
                    case "enterprise_id":
                        if (value!.Length is > 0 and <= 20 && value.All(char.IsAsciiDigit))
                        {
                            audit = audit with { EnterpriseId = value };
                        }
                        else
                        {
                            Error(v, "bad-value", "enterprise_id must be the IANA private enterprise number, digits only (the SD-ID is kua@NUMBER)");
                        }

                        break;
                    default:
                        Error(k, "unknown-key", $"audit: {UnknownKey(auditKey, s_auditKeys)}");
                        break;
                }
            }

            return audit;
        }

        string? Scalar(YamlNode node)
        {
            if (node is YamlScalarNode scalar)
            {
                return scalar.Value ?? string.Empty;
            }

            Error(node, "wrong-type", "expected a single value");
            return null;
        }

        string? PathValue(YamlNode node)
        {
            if (Scalar(node) is not { } value)
            {
                return null;
            }

            if (value.Length == 0 || value.Contains('\0'))
            {
                Error(node, "bad-value", "expected a path");
                return null;
            }

            return Path.GetFullPath(Path.Join(Path.IsPathRooted(value) ? null : baseDirectory, value));
        }

        void Error(YamlNode node, string code, string message) =>
            diags.Add(new ConfigDiagnostic(fileName, (int)node.Start.Line, (int)node.Start.Column, true, code, message));
    }

    private static MigrationPolicy ParseMigrationPolicy(string value) => value switch
    {
        "guard" => MigrationPolicy.Guard,
        "allow" => MigrationPolicy.Allow,
        _ => MigrationPolicy.Unknown,
    };

    /// <summary>Syslog facility names accepted in <c>audit.facility</c>.</summary>
    internal static readonly string[] SyslogFacilities =
        ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
         "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"];

    internal static bool IsVmName(string name) =>
        name.Length is > 0 and <= 64 && char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static bool IsMonitorForm(string monitor, out string? why)
    {
        if (monitor.StartsWith("unix:", StringComparison.Ordinal))
        {
            why = monitor.Length > 5 && !monitor.Contains('\0') ? null : "unix: needs a socket path, e.g. unix:/run/qemu/winxp.qmp";
            return why is null;
        }

        if (monitor.StartsWith("tcp:", StringComparison.Ordinal) || monitor.StartsWith("telnet:", StringComparison.Ordinal))
        {
            string rest = monitor[(monitor.IndexOf(':', StringComparison.Ordinal) + 1)..];
            int colon = rest.LastIndexOf(':');
            if (colon > 0 && int.TryParse(rest.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is > 0 and < 65536)
            {
                why = null;
                return true;
            }

            why = $"'{monitor}' needs host:port, e.g. tcp:127.0.0.1:4446";
            return false;
        }

        why = $"'{monitor}' is not a monitor address; expected unix:/path, tcp:host:port or telnet:host:port";
        return false;
    }

    private static bool IsSyslogForm(string value) =>
        (value.StartsWith("unix:/", StringComparison.Ordinal) && value.Length > 6)
        || ((value.StartsWith("udp:", StringComparison.Ordinal) || value.StartsWith("tcp:", StringComparison.Ordinal)) && IsMonitorForm("tcp:" + value[4..], out _));

    internal static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        ReadOnlySpan<char> span = text.AsSpan().Trim();
        long multiplier = 1;
        foreach (var (suffix, factor) in new (string, long)[] { ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("K", 1L << 10), ("M", 1L << 20), ("G", 1L << 30) })
        {
            if (span.EndsWith(suffix, StringComparison.Ordinal))
            {
                multiplier = factor;
                span = span[..^suffix.Length].TrimEnd();
                break;
            }
        }

        if (!long.TryParse(span, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n > long.MaxValue / multiplier)
        {
            return false;
        }

        bytes = n * multiplier;
        return true;
    }

    private static string UnknownKey(string key, string[] known) =>
        Rules.Suggestions.Closest(key, known) is { } best
            ? $"unknown key '{key}'; did you mean '{best}'?"
            : $"unknown key '{key}'; expected one of: {string.Join(", ", known)}";
}
