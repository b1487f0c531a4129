using System.Text.Json;
using System.Text.Json.Nodes;
using KvmUdevAgent.Core.Control;

namespace KvmUdevAgent.Cli;

/// <summary>
/// One request to the daemon from a CLI verb: connects, sends, and turns every way it can fail into
/// one line on stderr and the matching exit code, so each verb only handles the success.
/// </summary>
internal static class ControlClientCall
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Sends <paramref name="verb"/>; on success returns <see cref="ExitCodes.Success"/> and the result, else the exit code after printing why to <paramref name="error"/>.</summary>
    public static Task<(int ExitCode, JsonElement Result)> InvokeAsync(string socketPath, string verb, JsonObject? args, TextWriter error, CancellationToken cancellationToken) =>
        InvokeAsync(socketPath, verb, args, error, null, null, cancellationToken);

    /// <summary>As above, for a long verb: progress lines go to <paramref name="onProgress"/>, and the answer may take <paramref name="timeout"/> (null: the client's default).</summary>
    public static async Task<(int ExitCode, JsonElement Result)> InvokeAsync(string socketPath, string verb, JsonObject? args, TextWriter error, Action<JsonElement>? onProgress, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        try
        {
            await using ControlClient client = await ControlClient.ConnectAsync(socketPath, ConnectTimeout, cancellationToken).ConfigureAwait(false);
            ControlResponse response = await client.SendAsync(verb, args, onProgress, timeout ?? client.RequestTimeout, cancellationToken).ConfigureAwait(false);
            if (response.Error is { } failure)
            {
                await error.WriteLineAsync("kvm-udev-agent: " + failure.Message).ConfigureAwait(false);
                return (ExitCodeOf(failure.Code), default);
            }

            return (ExitCodes.Success, response.Result);
        }
        catch (ControlUnavailableException ex)
        {
            await error.WriteLineAsync(DescribeUnavailable(ex)).ConfigureAwait(false);
            return (ex.Reason == ControlUnavailableReason.PermissionDenied ? ExitCodes.NoPermission : ExitCodes.Unavailable, default);
        }
    }

    /// <summary>The single line a user sees when the daemon cannot be reached.</summary>
    public static string DescribeUnavailable(ControlUnavailableException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        const string Start = "start it with 'kvm-udev-agent run' or 'systemctl start kvm-udev-agent'";
        return ex.Reason switch
        {
            ControlUnavailableReason.NoSocket => $"kvm-udev-agent: the daemon is not running (no socket at {ex.SocketPath}); {Start}",
            ControlUnavailableReason.NotListening => $"kvm-udev-agent: the daemon is not running (nothing listens on {ex.SocketPath}; it may have crashed); {Start}",
            ControlUnavailableReason.PermissionDenied => $"kvm-udev-agent: permission denied on {ex.SocketPath}; run as root (sudo), or as a member of the configured control_group for read-only verbs",
            ControlUnavailableReason.Timeout => $"kvm-udev-agent: {ex.Message}; the daemon may be overloaded or hung (check 'systemctl status kvm-udev-agent')",
            _ => $"kvm-udev-agent: {ex.Message}",
        };
    }

    private static int ExitCodeOf(string code) => code switch
    {
        ControlErrorCodes.Forbidden => ExitCodes.NoPermission,
        ControlErrorCodes.BadRequest or ControlErrorCodes.InvalidArgument => ExitCodes.Usage,
        ControlErrorCodes.NotFound => ExitCodes.NoInput,
        ControlErrorCodes.InvalidRules => ExitCodes.DataError,
        ControlErrorCodes.Busy or ControlErrorCodes.ShuttingDown or ControlErrorCodes.MonitorUnavailable => ExitCodes.Unavailable,
        Core.Agent.MigrationErrorCodes.Unavailable => ExitCodes.Unavailable,
        Core.Agent.MigrationErrorCodes.Conflict => ExitCodes.TempFail,
        _ => ExitCodes.Failure,
    };

    /// <summary>Writes a result as indented JSON (the <c>--json</c> output), newline-terminated.</summary>
    public static async Task WriteJsonAsync(TextWriter output, JsonElement result)
    {
        ArgumentNullException.ThrowIfNull(output);
        using MemoryStream buffer = new();
        using (Utf8JsonWriter writer = new(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            result.WriteTo(writer);
        }

        await output.WriteLineAsync(System.Text.Encoding.UTF8.GetString(buffer.ToArray())).ConfigureAwait(false);
    }
}
