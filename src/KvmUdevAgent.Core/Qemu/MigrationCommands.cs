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
        switch (connection)
        {
            case QmpConnection qmp:
                {
                    JsonElement status = await qmp.ExecuteAsync(QueryStatus, null, cancellationToken).ConfigureAwait(false);
                    string runState = status.TryGetProperty("status", out JsonElement s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "unknown";
                    MigrationProgress progress = await QueryProgressAsync(connection, cancellationToken).ConfigureAwait(false);
                    return new VmRunState(runState, progress.Status);
                }

            case HmpConnection hmp:
                {
                    IReadOnlyList<string> lines = await hmp.ExecuteAsync(new HmpLine(QmpCommands.HmpInfo).Word("status"), cancellationToken).ConfigureAwait(false);
                    MigrationProgress progress = await QueryProgressAsync(connection, cancellationToken).ConfigureAwait(false);
                    return new VmRunState(HmpMigrationText.ParseRunState(lines), progress.Status);
                }

            default:
                throw new NotSupportedException("Unknown monitor connection type.");
        }
    }

    /// <summary><c>migrate-set-capabilities</c> (HMP: <c>migrate_set_capability</c> per capability), each set to true.</summary>
    public static async Task EnableCapabilitiesAsync(IMonitorConnection connection, IReadOnlyList<string> capabilities, CancellationToken cancellationToken)
    {
        switch (connection)
        {
            case QmpConnection qmp:
                await qmp.ExecuteAsync(SetCapabilities, w =>
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
                }, cancellationToken).ConfigureAwait(false);
                break;
            case HmpConnection hmp:
                foreach (string capability in capabilities)
                {
                    HmpMigrationText.ThrowIfError(await hmp.ExecuteAsync(new HmpLine("migrate_set_capability").Word(capability).Word("on"), cancellationToken).ConfigureAwait(false), "migrate_set_capability");
                }

                break;
            default:
                throw new NotSupportedException("Unknown monitor connection type.");
        }
    }

    /// <summary>Starts the migration (HMP: <c>migrate -d</c>, detached, so the monitor answers at once).</summary>
    public static async Task StartAsync(IMonitorConnection connection, MigrationUri uri, CancellationToken cancellationToken)
    {
        switch (connection)
        {
            case QmpConnection qmp:
                await qmp.ExecuteAsync(Migrate, w => w.WriteString("uri", uri.Text), cancellationToken).ConfigureAwait(false);
                break;
            case HmpConnection hmp:
                HmpMigrationText.ThrowIfError(await hmp.ExecuteAsync(new HmpLine(Migrate).Flag('d').Word(uri), cancellationToken).ConfigureAwait(false), Migrate);
                break;
            default:
                throw new NotSupportedException("Unknown monitor connection type.");
        }
    }

    public static async Task CancelAsync(IMonitorConnection connection, CancellationToken cancellationToken)
    {
        switch (connection)
        {
            case QmpConnection qmp:
                await qmp.ExecuteAsync(MigrateCancel, null, cancellationToken).ConfigureAwait(false);
                break;
            case HmpConnection hmp:
                HmpMigrationText.ThrowIfError(await hmp.ExecuteAsync(new HmpLine(MigrateCancel), cancellationToken).ConfigureAwait(false), MigrateCancel);
                break;
            default:
                throw new NotSupportedException("Unknown monitor connection type.");
        }
    }

    /// <summary>Resumes a paused VM.</summary>
    public static async Task ContinueAsync(IMonitorConnection connection, CancellationToken cancellationToken)
    {
        switch (connection)
        {
            case QmpConnection qmp:
                await qmp.ExecuteAsync(Cont, null, cancellationToken).ConfigureAwait(false);
                break;
            case HmpConnection hmp:
                HmpMigrationText.ThrowIfError(await hmp.ExecuteAsync(new HmpLine(Cont), cancellationToken).ConfigureAwait(false), Cont);
                break;
            default:
                throw new NotSupportedException("Unknown monitor connection type.");
        }
    }

    /// <summary>The migration's status and RAM counters (<c>query-migrate</c> / <c>info migrate</c>).</summary>
    public static async Task<MigrationProgress> QueryProgressAsync(IMonitorConnection connection, CancellationToken cancellationToken)
    {
        switch (connection)
        {
            case QmpConnection qmp:
                {
                    JsonElement info = await qmp.ExecuteAsync(QueryMigrate, null, cancellationToken).ConfigureAwait(false);
                    string status = info.TryGetProperty("status", out JsonElement s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : MigrationStatuses.None;
                    var progress = new MigrationProgress
                    {
                        Status = status,
                        TotalTimeMs = Number(info, "total-time"),
                        Error = info.TryGetProperty("error-desc", out JsonElement e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null,
                    };
                    if (info.TryGetProperty("ram", out JsonElement ram) && ram.ValueKind == JsonValueKind.Object)
                    {
                        progress = progress with { TotalBytes = Number(ram, "total"), TransferredBytes = Number(ram, "transferred"), RemainingBytes = Number(ram, "remaining") };
                    }

                    return progress;
                }

            case HmpConnection hmp:
                return HmpMigrationText.ParseInfoMigrate(await hmp.ExecuteAsync(new HmpLine(QmpCommands.HmpInfo).Word("migrate"), cancellationToken).ConfigureAwait(false));
            default:
                throw new NotSupportedException("Unknown monitor connection type.");
        }
    }

    private static long Number(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out JsonElement value) && value.TryGetInt64(out long number) ? number : 0;

    internal static long ParseLong(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : 0;
}
