using System.Globalization;
using System.Text.Json;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// The migration commands over either protocol: run state, capabilities, <c>migrate</c>,
/// <c>migrate_cancel</c>, progress and <c>cont</c>. QMP names are verbatim; over HMP every line is
/// built by <see cref="HmpLine"/> from validated parts (the destination is a <see cref="MigrationUri"/>).
/// </summary>
internal static class MigrationCommands
{
    public const string QueryStatus = "query-status";
    public const string QueryMigrate = "query-migrate";
    public const string SetCapabilities = "migrate-set-capabilities";
    public const string Migrate = "migrate";
    public const string MigrateCancel = "migrate_cancel";
    public const string Cont = "cont";
    public const string EventsCapability = "events";
    public const string ReturnPathCapability = "return-path";

    /// <summary>The VM's run state and migration status (two commands).</summary>
    public static async Task<VmRunState> QueryRunStateAsync(IMonitorConnection connection, CancellationToken cancellationToken)
    {
        string runState = await On(connection,
            async qmp => (await qmp.ExecuteAsync(QueryStatus, null, cancellationToken).ConfigureAwait(false)) is var status && status.TryGetProperty("status", out JsonElement s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "unknown",
            async hmp => HmpMigrationText.ParseRunState(await hmp.ExecuteAsync(new HmpLine(QmpCommands.HmpInfo).Word("status"), cancellationToken).ConfigureAwait(false))).ConfigureAwait(false);
        MigrationProgress progress = await QueryProgressAsync(connection, cancellationToken).ConfigureAwait(false);
        return new VmRunState(runState, progress.Status);
    }

    /// <summary><c>migrate-set-capabilities</c> (HMP: <c>migrate_set_capability</c> per capability), each set to true.</summary>
    public static Task EnableCapabilitiesAsync(IMonitorConnection connection, IReadOnlyList<string> capabilities, CancellationToken cancellationToken) =>
        On(connection,
            async qmp => await qmp.ExecuteAsync(SetCapabilities, w =>
            {
                w.WriteStartArray("capabilities");
                foreach (string capability in capabilities)
                {
                    w.WriteStartObject();
                    w.WriteString("capability", capability);
                    w.WriteBoolean("state", true);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }, cancellationToken).ConfigureAwait(false),
            async hmp =>
            {
                foreach (string capability in capabilities)
                {
                    await RunHmpAsync(hmp, new HmpLine("migrate_set_capability").Word(capability).Word("on"), cancellationToken).ConfigureAwait(false);
                }
            });

    /// <summary>Starts the migration (HMP: <c>migrate -d</c>, detached, so the monitor answers at once).</summary>
    public static Task StartAsync(IMonitorConnection connection, MigrationUri uri, CancellationToken cancellationToken) =>
        On(connection,
            qmp => qmp.ExecuteAsync(Migrate, w => w.WriteString("uri", uri.Text), cancellationToken),
            hmp => RunHmpAsync(hmp, new HmpLine(Migrate).Flag('d').Word(uri), cancellationToken));

    public static Task CancelAsync(IMonitorConnection connection, CancellationToken cancellationToken) =>
        On(connection, qmp => qmp.ExecuteAsync(MigrateCancel, null, cancellationToken), hmp => RunHmpAsync(hmp, new HmpLine(MigrateCancel), cancellationToken));

    /// <summary>Resumes a paused VM.</summary>
    public static Task ContinueAsync(IMonitorConnection connection, CancellationToken cancellationToken) =>
        On(connection, qmp => qmp.ExecuteAsync(Cont, null, cancellationToken), hmp => RunHmpAsync(hmp, new HmpLine(Cont), cancellationToken));

    /// <summary>The migration's status and RAM counters (<c>query-migrate</c> / <c>info migrate</c>).</summary>
    public static Task<MigrationProgress> QueryProgressAsync(IMonitorConnection connection, CancellationToken cancellationToken) =>
        On(connection,
            async qmp =>
            {
                JsonElement info = await qmp.ExecuteAsync(QueryMigrate, null, cancellationToken).ConfigureAwait(false);
                var progress = new MigrationProgress
                {
                    Status = info.TryGetProperty("status", out JsonElement s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : MigrationStatuses.None,
                    TotalTimeMs = Number(info, "total-time"),
                    Error = info.TryGetProperty("error-desc", out JsonElement e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null,
                };
                return info.TryGetProperty("ram", out JsonElement ram) && ram.ValueKind == JsonValueKind.Object
                    ? progress with { TotalBytes = Number(ram, "total"), TransferredBytes = Number(ram, "transferred"), RemainingBytes = Number(ram, "remaining") }
                    : progress;
            },
            async hmp => HmpMigrationText.ParseInfoMigrate(await hmp.ExecuteAsync(new HmpLine(QmpCommands.HmpInfo).Word("migrate"), cancellationToken).ConfigureAwait(false)));

    private static Task<T> On<T>(IMonitorConnection connection, Func<QmpConnection, Task<T>> qmp, Func<HmpConnection, Task<T>> hmp) => connection switch
    {
        QmpConnection q => qmp(q),
        HmpConnection h => hmp(h),
        _ => throw new NotSupportedException("Unknown monitor connection type."),
    };

    private static Task On(IMonitorConnection connection, Func<QmpConnection, Task> qmp, Func<HmpConnection, Task> hmp) => connection switch
    {
        QmpConnection q => qmp(q),
        HmpConnection h => hmp(h),
        _ => throw new NotSupportedException("Unknown monitor connection type."),
    };

    /// <summary>Runs an HMP command whose only output is an error, if any.</summary>
    private static async Task RunHmpAsync(HmpConnection hmp, HmpLine line, CancellationToken cancellationToken)
    {
        string command = line.ToString().Split(' ')[0];
        HmpMigrationText.ThrowIfError(await hmp.ExecuteAsync(line, cancellationToken).ConfigureAwait(false), command);
    }

    private static long Number(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out JsonElement value) && value.TryGetInt64(out long number) ? number : 0;

    internal static long ParseLong(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : 0;
}
