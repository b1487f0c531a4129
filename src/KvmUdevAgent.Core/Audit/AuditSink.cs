using System.Globalization;

namespace KvmUdevAgent.Core.Audit;

/// <summary>
/// The audit trail: turns committed <see cref="AuditRecord"/>s into RFC 5424 messages with one
/// <c>[kua@PEN ...]</c> element holding the fixed keys (<see cref="AuditKeys"/>) and, when there
/// are extra fields, a second <c>[kua.x@PEN ...]</c> element, and queues them on a
/// <see cref="SyslogQueue"/> (bounded, drop newest, never blocks). MSGID is the record type.
/// Severity: success is informational, failure is error, unless the record overrides it.
/// </summary>
internal sealed class AuditSink : IAuditWriter, IAsyncDisposable
{
    /// <summary>SD-ID name of the fixed keys.</summary>
    public const string SdName = "kua";

    /// <summary>SD-ID name of the extra fields.</summary>
    public const string ExtraSdName = "kua.x";

    private readonly SyslogQueue _queue;

    public AuditSink(SyslogQueue queue)
    {
        _queue = queue;
    }

    /// <summary>Builds the sink for <paramref name="settings"/>; null when audit is <c>off</c> (use <see cref="NullAuditWriter"/>).</summary>
    public static AuditSink? Create(AuditSettings settings, int capacity = SyslogQueue.DefaultCapacity)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!settings.Enabled)
        {
            return null;
        }

        return new AuditSink(new SyslogQueue(
            SyslogTransports.Create(settings.Endpoint),
            settings.CreateFormatter(),
            settings.Endpoint.ToString(),
            capacity,
            DropNotice));
    }

    public SyslogQueueStatus Status => _queue.Status;

    public void Write(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        _queue.Enqueue(ToMessage(record));
    }

    /// <summary>Waits until everything written so far is delivered or dropped (shutdown, tests).</summary>
    public Task<bool> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken = default) => _queue.FlushAsync(timeout, cancellationToken);

    public ValueTask DisposeAsync() => _queue.DisposeAsync();

    internal static SyslogMessage ToMessage(AuditRecord record)
    {
        var fields = new KeyValuePair<string, string>[AuditKeys.All.Length];
        int i = 0;
        fields[i++] = new(AuditKeys.V, AuditKeys.Version);
        fields[i++] = new(AuditKeys.Type, record.Type);
        fields[i++] = new(AuditKeys.Seq, record.Seq?.ToString(CultureInfo.InvariantCulture) ?? "");
        fields[i++] = new(AuditKeys.Event, record.Event ?? "");
        fields[i++] = new(AuditKeys.DevPath, record.DevPath ?? "");
        fields[i++] = new(AuditKeys.Subsystem, record.Subsystem ?? "");
        fields[i++] = new(AuditKeys.Vendor, record.Vendor ?? "");
        fields[i++] = new(AuditKeys.Product, record.Product ?? "");
        fields[i++] = new(AuditKeys.Serial, record.Serial ?? "");
        fields[i++] = new(AuditKeys.Label, record.Label ?? "");
        fields[i++] = new(AuditKeys.Rule, record.Rule ?? "");
        fields[i++] = new(AuditKeys.Action, record.Action ?? "");
        fields[i++] = new(AuditKeys.Target, record.Target ?? "");
        fields[i++] = new(AuditKeys.Outcome, record.Outcome == AuditOutcome.Success ? "success" : "failure");
        fields[i++] = new(AuditKeys.Error, record.Error ?? "");
        fields[i] = new(AuditKeys.LatencyMs, record.LatencyMs?.ToString("0.000", CultureInfo.InvariantCulture) ?? "");

        SdElement[] elements = record.Extra.Count == 0
            ? [new SdElement(SdName, fields)]
            : [new SdElement(SdName, fields), new SdElement(ExtraSdName, [.. record.Extra])];
        return new SyslogMessage
        {
            Severity = record.Severity ?? (record.Outcome == AuditOutcome.Success ? SyslogSeverity.Informational : SyslogSeverity.Error),
            Timestamp = record.IsCommitted ? record.Timestamp : DateTimeOffset.UtcNow,
            MsgId = record.Type,
            Elements = elements,
            Text = record.FormatMessage(),
        };
    }

    internal static SyslogMessage DropNotice(long count)
    {
        string text = string.Create(CultureInfo.InvariantCulture, $"audit queue full: {count} audit records dropped");
        return new SyslogMessage
        {
            Severity = SyslogSeverity.Warning,
            Timestamp = DateTimeOffset.UtcNow,
            MsgId = AuditTypes.AuditDropped,
            Elements =
            [
                new SdElement(SdName, [
                    new(AuditKeys.V, AuditKeys.Version),
                    new(AuditKeys.Type, AuditTypes.AuditDropped),
                    new(AuditKeys.Outcome, "failure"),
                    new(AuditKeys.Error, text),
                ]),
                new SdElement(ExtraSdName, [new(AuditKeys.Dropped, count.ToString(CultureInfo.InvariantCulture))]),
            ],
            Text = text,
        };
    }
}
