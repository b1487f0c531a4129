using System.Text;
using KvmUdevAgent.Core.Tests.Audit;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>
/// One daemon's private world: a temp directory with agent.yaml, rules.d, state and control socket,
/// and (optionally) a private rsyslogd as the audit target, as the daemon tests set it up.
/// </summary>
internal sealed class BenchWorkspace : IAsyncDisposable
{
    private BenchWorkspace(string work)
    {
        Work = work;
        RulesDir = Path.Combine(work, "rules.d");
        Directory.CreateDirectory(RulesDir);
        ConfigPath = Path.Combine(work, "agent.yaml");
        ControlSocket = Path.Combine(work, "control.sock");
    }

    public string Work { get; }

    public string RulesDir { get; }

    public string ConfigPath { get; }

    public string ControlSocket { get; }

    public RsyslogServer? Syslog { get; private set; }

    public string StateDir { get; private set; } = string.Empty;

    public static async Task<BenchWorkspace> CreateAsync(bool syslog)
    {
        var ws = new BenchWorkspace(Directory.CreateTempSubdirectory("kua-bench-").FullName);
        if (syslog)
        {
            try
            {
                ws.Syslog = await RsyslogServer.StartAsync();
            }
            catch
            {
                await ws.DisposeAsync();
                throw;
            }
        }

        return ws;
    }

    public void WriteRules(string yaml) => File.WriteAllText(Path.Combine(RulesDir, "50-bench.yaml"), yaml);

    /// <param name="vms">VM name → QMP socket path.</param>
    public void WriteConfig(string source, string sysfsRoot, IReadOnlyDictionary<string, string> vms, string? receiveBuffer = null)
    {
        var yaml = new StringBuilder();
        yaml.Append("source: ").Append(source).Append('\n');
        yaml.Append("sysfs_root: ").Append(sysfsRoot).Append('\n');
        yaml.Append("rules_dir: ").Append(RulesDir).Append('\n');
        // Profiling aid: KUA_BENCH_STATE_DIR=/dev/shm puts the state file on tmpfs (fsync is free there).
        string stateDir = Environment.GetEnvironmentVariable("KUA_BENCH_STATE_DIR") is { Length: > 0 } d ? Path.Combine(d, Path.GetFileName(Work)) : Path.Combine(Work, "state");
        yaml.Append("state_file: ").Append(Path.Combine(stateDir, "state.json")).Append('\n');
        StateDir = stateDir;
        yaml.Append("control_socket: ").Append(ControlSocket).Append('\n');
        yaml.Append("mount_base: ").Append(Path.Combine(Work, "media")).Append('\n');
        if (receiveBuffer is not null)
        {
            yaml.Append("receive_buffer: ").Append(receiveBuffer).Append('\n');
        }

        if (vms.Count > 0)
        {
            yaml.Append("vms:\n");
            foreach ((string name, string socket) in vms)
            {
                yaml.Append("  ").Append(name).Append(": { monitor: \"unix:").Append(socket).Append("\" }\n");
            }
        }

        yaml.Append("audit:\n  syslog: \"").Append(Syslog?.UnixTarget ?? "off").Append("\"\n");
        File.WriteAllText(ConfigPath, yaml.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        if (Syslog is not null)
        {
            await Syslog.DisposeAsync();
        }

        Directory.Delete(Work, recursive: true);
        if (!StateDir.StartsWith(Work, StringComparison.Ordinal) && Directory.Exists(StateDir))
        {
            Directory.Delete(StateDir, recursive: true);
        }
    }
}
