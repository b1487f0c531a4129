using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Tests.Configuration;

public sealed class AgentConfigLoaderTests
{
    private static AgentConfig Parse(string yaml, out List<ConfigDiagnostic> diagnostics) =>
        AgentConfigLoader.Parse(yaml, "agent.yaml", "/etc/kvm-udev-agent", out diagnostics);

    [Fact]
    public void Parse_Empty_GivesDefaults()
    {
        AgentConfig config = Parse("", out var diagnostics);
        Assert.Empty(diagnostics);
        Assert.Empty(config.Vms);
        Assert.Equal(new AgentConfig() with { Vms = config.Vms }, config);
    }

    [Fact]
    public void Parse_ShippedConfig_Loads()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "config", "agent.yaml");
        Assert.True(AgentConfigLoader.TryLoad(path, mustExist: true, out AgentConfig config, out var diagnostics), string.Join('\n', diagnostics));
        Assert.Equal("unix:/run/qemu/winxp.qmp", config.Vms["winxp"].Monitor);
        Assert.Equal(MonitorProtocol.Hmp, config.Vms["centos"].Protocol);
        Assert.Equal(128 * 1024 * 1024, config.ReceiveBufferBytes);
        Assert.EndsWith("/rules", config.RulesDir, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RelativePaths_ResolveAgainstConfigDirectory()
    {
        AgentConfig config = Parse("rules_dir: rules.d\nvms:\n  a: { monitor: 'unix:run/a.qmp' }\n", out var diagnostics);
        Assert.Empty(diagnostics);
        Assert.Equal("/etc/kvm-udev-agent/rules.d", config.RulesDir);
        Assert.Equal("unix:/etc/kvm-udev-agent/run/a.qmp", config.Vms["a"].Monitor);
    }

    [Fact]
    public void Parse_MigrationPolicy_DefaultGuardAndAllow()
    {
        AgentConfig config = Parse("vms:\n  a: { monitor: 'unix:/run/a.qmp' }\n  b: { monitor: 'unix:/run/b.qmp', migration: allow }\n  c: { monitor: 'unix:/run/c.qmp', migration: guard }\n", out var diagnostics);
        Assert.Empty(diagnostics);
        Assert.Equal([MigrationPolicy.Guard, MigrationPolicy.Allow, MigrationPolicy.Guard], new[] { "a", "b", "c" }.Select(n => config.Vms[n].Migration));
    }

    [Fact]
    public void Rejects_UnknownMigrationPolicy()
    {
        Parse("vms:\n  a: { monitor: 'unix:/run/a.qmp', migration: cancel }\n", out var diagnostics);
        Assert.Equal("agent.yaml:2:47: error: VM 'a': unknown migration policy 'cancel'; expected one of: guard, allow", Assert.Single(diagnostics).ToString());
    }

    [Fact]
    public void Rejects_UnknownKey_WithPositionAndSuggestion()
    {
        Parse("source: auto\nrule_dir: /x\n", out var diagnostics);
        ConfigDiagnostic d = Assert.Single(diagnostics);
        Assert.Equal("agent.yaml:2:1: error: unknown key 'rule_dir'; did you mean 'rules_dir'?", d.ToString());
    }

    [Theory]
    [InlineData("", LogTarget.Stderr)]
    [InlineData("log: stderr\n", LogTarget.Stderr)]
    [InlineData("log: syslog\n", LogTarget.Syslog)]
    public void Parse_Log_Targets(string yaml, LogTarget expected)
    {
        AgentConfig config = Parse(yaml, out var diagnostics);
        Assert.Empty(diagnostics);
        Assert.Equal(expected, config.Log);
    }

    [Fact]
    public void Rejects_UnknownLogTarget_WithPosition()
    {
        Parse("log: journal\n", out var diagnostics);
        Assert.Equal("agent.yaml:1:6: error: unknown log target 'journal'; expected one of: stderr, syslog", Assert.Single(diagnostics).ToString());
    }

    [Fact]
    public void Rejects_AllProblemsInOnePass()
    {
        Parse("source: udevd\nvms:\n  winxp: { monitor: 'serial:/dev/ttyS0' }\n  'bad name': { monitor: 'tcp:h:1' }\n  c: { protocol: qmp }\naudit:\n  facility: nope\n", out var diagnostics);
        Assert.Equal(
            [
                "agent.yaml:1:9: error: unknown source 'udevd'; expected one of: auto, udev, kernel",
                "agent.yaml:3:21: error: VM 'winxp': 'serial:/dev/ttyS0' is not a monitor address; expected unix:/path, tcp:host:port or telnet:host:port",
                "agent.yaml:4:3: error: 'bad name' is not a valid VM name; use letters, digits, '-', '_' and '.', starting with a letter or digit (at most 64)",
                "agent.yaml:5:6: error: VM 'c': 'monitor' is required (unix:/path, tcp:host:port or telnet:host:port), or 'proxmox: VMID' for a Proxmox VE VM, or 'libvirt: DOMAIN' for a domain libvirt manages",
                "agent.yaml:7:13: error: unknown syslog facility 'nope'; expected one of: kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, local0, local1, local2, local3, local4, local5, local6, local7",
            ],
            diagnostics.Select(d => d.ToString()));
    }

    [Fact]
    public void Parse_LibvirtDomain_DefaultUriOrGiven()
    {
        AgentConfig config = Parse("vms:\n  a: { libvirt: win10 }\n  b: { libvirt: lab, uri: \"qemu:///system?socket=/s\" }\n", out var diagnostics);
        Assert.Empty(diagnostics);
        Assert.Equal(("win10", "qemu:///system", ""), (config.Vms["a"].Libvirt, config.Vms["a"].Uri, config.Vms["a"].Monitor));
        Assert.Equal(("lab", "qemu:///system?socket=/s"), (config.Vms["b"].Libvirt, config.Vms["b"].Uri));
    }

    [Fact]
    public void Rejects_LibvirtMixedWithMonitorOrProtocol()
    {
        Parse("vms:\n  a: { libvirt: x, monitor: 'unix:/m' }\n  b: { libvirt: y, protocol: qmp }\n  c: { monitor: 'unix:/m', uri: 'qemu:///system' }\n  d: { libvirt: z, uri: nope }\n", out var diagnostics);
        Assert.Equal(
            [
                "agent.yaml:2:6: error: VM 'a': give either 'monitor' (a QEMU monitor) or 'libvirt' (a domain libvirt manages), not both",
                "agent.yaml:3:6: error: VM 'b': 'protocol' is for a QEMU monitor; a libvirt domain is reached through libvirt",
                "agent.yaml:4:6: error: VM 'c': 'uri' belongs with 'libvirt: DOMAIN'",
                "agent.yaml:5:25: error: VM 'd': uri: expected a libvirt URI, e.g. qemu:///system",
            ],
            diagnostics.Select(d => d.ToString()));
    }

    [Fact]
    public void Rejects_YamlSyntax_WithPosition()
    {
        Parse("vms:\n  a: { monitor: 'unix:/x'\n", out var diagnostics);
        ConfigDiagnostic d = Assert.Single(diagnostics);
        Assert.Equal("yaml-syntax", d.Code);
        Assert.True(d.Line >= 2);
    }

    [Theory]
    [InlineData("16MiB", 16 * 1024 * 1024)]
    [InlineData("65536", 65536)]
    [InlineData("1G", 1 << 30)]
    public void Parse_ReceiveBuffer_Sizes(string text, int expected)
    {
        AgentConfig config = Parse($"receive_buffer: {text}\n", out var diagnostics);
        Assert.Empty(diagnostics);
        Assert.Equal(expected, config.ReceiveBufferBytes);
    }

    [Fact]
    public void TryLoad_MissingFile_DefaultsUnlessRequired()
    {
        Assert.True(AgentConfigLoader.TryLoad("/nonexistent/agent.yaml", mustExist: false, out _, out _));
        Assert.False(AgentConfigLoader.TryLoad("/nonexistent/agent.yaml", mustExist: true, out _, out var diagnostics));
        Assert.Equal("/nonexistent/agent.yaml: error: no such file", Assert.Single(diagnostics).ToString());
    }
}
