using System.Text.Json;
using KvmUdevAgent.Core.Control;
using KvmUdevAgent.Tests.Daemon;
using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Reliability;

/// <summary>
/// The running daemon's own account of itself: <c>status</c> over the control socket, either through
/// the CLI a user would run (<c>kvm-udev-agent status --json</c>) or, for tight polling loops, through
/// the same protocol in-process.
/// </summary>
internal static class DaemonStatus
{
    /// <summary>What <c>kvm-udev-agent status --json --control-socket ...</c> prints (the CLI as a user runs it).</summary>
    public static async Task<JsonElement> CliAsync(DaemonEnvironment env)
    {
        ProcessRunner.Result result = await ProcessRunner.RunAsync(RepoPaths.AgentBinary, ["status", "--json", "--control-socket", env.ControlSocket]);
        Assert.True(result.ExitCode == 0, "status failed: " + result);
        using JsonDocument doc = JsonDocument.Parse(result.Stdout);
        return doc.RootElement.Clone();
    }

    /// <summary>The <c>status</c> answer over the control protocol, without starting a process.</summary>
    public static async Task<JsonElement> QueryAsync(DaemonEnvironment env)
    {
        await using ControlClient client = await ControlClient.ConnectAsync(env.ControlSocket, TimeSpan.FromSeconds(10));
        ControlResponse response = await client.SendAsync(ControlVerbs.Status);
        Assert.True(response.Ok, "status refused: " + response.Error);
        return response.Result.Clone();
    }

    public static long Dropped(JsonElement status) => status.GetProperty("counters").GetProperty("dropped").GetInt64();

    public static long Matched(JsonElement status) => status.GetProperty("counters").GetProperty("matched").GetInt64();

    public static long Events(JsonElement status) => status.GetProperty("counters").GetProperty("events").GetInt64();

    /// <summary>Polls <c>status</c> until <paramref name="condition"/> holds; fails with the last answer.</summary>
    public static async Task<JsonElement> WaitForAsync(DaemonEnvironment env, Func<JsonElement, bool> condition, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            JsonElement status = await QueryAsync(env);
            if (condition(status))
            {
                return status;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("status never reached the expected state; last: " + status.GetRawText() + "\ndaemon stderr:\n" + env.Daemon?.Stderr);
            }

            await Task.Delay(25);
        }
    }
}
