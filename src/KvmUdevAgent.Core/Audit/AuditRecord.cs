using System.Diagnostics;
using System.Globalization;
using System.Text;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Audit;

/// <summary>
/// One audit record: one decision and how it ended (style item 21). It starts as
/// <see cref="AuditOutcome.Failure"/> and is committed to its writer when disposed, so a code path
/// that throws or forgets to call <see cref="Succeed"/> still leaves a failure record
/// (error <c>"not completed"</c>). Committing freezes it: setters throw afterwards.
/// Typical use:
/// <code>
/// using var audit = new AuditRecord(writer, AuditTypes.DeviceAttach, uevent.ReceivedTimestamp)
///     .WithEvent(uevent).WithIdentity(identity);
/// audit.Rule = rule.Name; audit.Action = "attach"; audit.Target = vm;
/// ... audit.Succeed();   // or audit.Fail(ex)
/// </code>
/// Values are device data and hostile; they are stored raw and escaped by the formatter.
/// Not thread-safe until committed.
/// </summary>
internal sealed class AuditRecord : IDisposable
{
    /// <summary>Error text of a record disposed without <see cref="Succeed"/> or <see cref="Fail(string)"/>.</summary>
    public const string NotCompleted = "not completed";

    private readonly IAuditWriter _writer;
    private readonly long _startTimestamp;
    private List<KeyValuePair<string, string>>? _extra;
    private int _committed;

    /// <param name="writer">Receives the record when it is disposed.</param>
    /// <param name="type">Hierarchical type name, one of <see cref="AuditTypes"/>.</param>
    /// <param name="startTimestamp">
    /// <see cref="Stopwatch.GetTimestamp"/> the latency is measured from (e.g. <see cref="Uevent.ReceivedTimestamp"/>);
    /// 0 means "now".
    /// </param>
    public AuditRecord(IAuditWriter writer, string type, long startTimestamp = 0)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentException.ThrowIfNullOrEmpty(type);
        _writer = writer;
        Type = type;
        _startTimestamp = startTimestamp == 0 ? Stopwatch.GetTimestamp() : startTimestamp;
    }

    public string Type { get; }

    /// <summary>Event sequence number (the kernel's SEQNUM, or the agent's own for coldplug).</summary>
    public ulong? Seq { get => field; set { ThrowIfCommitted(); field = value; } }

    /// <summary><c>add</c>, <c>remove</c>, <c>coldplug</c>, or the raw action word.</summary>
    public string? Event { get => field; set { ThrowIfCommitted(); field = value; } }

    public string? DevPath { get => field; set { ThrowIfCommitted(); field = value; } }

    public string? Subsystem { get => field; set { ThrowIfCommitted(); field = value; } }

    /// <summary>USB vendor id, 4 hex digits.</summary>
    public string? Vendor { get => field; set { ThrowIfCommitted(); field = value; } }

    /// <summary>USB product id, 4 hex digits.</summary>
    public string? Product { get => field; set { ThrowIfCommitted(); field = value; } }

    public string? Serial { get => field; set { ThrowIfCommitted(); field = value; } }

    /// <summary>Filesystem label.</summary>
    public string? Label { get => field; set { ThrowIfCommitted(); field = value; } }

    /// <summary>Name of the rule that decided.</summary>
    public string? Rule { get => field; set { ThrowIfCommitted(); field = value; } }

    /// <summary>The action taken: <c>attach</c>, <c>detach</c>, <c>mount</c>, <c>unmount</c>, <c>hook</c>, <c>none</c>, ...</summary>
    public string? Action { get => field; set { ThrowIfCommitted(); field = value; } }

    /// <summary>VM name, mount point or hook program.</summary>
    public string? Target { get => field; set { ThrowIfCommitted(); field = value; } }

    /// <summary>Overrides the severity derived from the outcome (success: info, failure: err).</summary>
    public SyslogSeverity? Severity { get => field; set { ThrowIfCommitted(); field = value; } }

    /// <summary>Overrides the human MSG text built from the fields.</summary>
    public string? Message { get => field; set { ThrowIfCommitted(); field = value; } }

    public AuditOutcome Outcome { get; private set; } = AuditOutcome.Failure;

    public string? Error { get; private set; }

    /// <summary>
    /// <see cref="Stopwatch.GetTimestamp"/> the latency is measured to, when that is not the commit (a
    /// decision recorded later than it was made); null means the commit.
    /// </summary>
    public long? EndTimestamp { get => field; set { ThrowIfCommitted(); field = value; } }

    /// <summary>Milliseconds from the start timestamp to <see cref="EndTimestamp"/> or the commit; null until committed.</summary>
    public double? LatencyMs { get; private set; }

    /// <summary>Wall-clock time of the commit (the syslog TIMESTAMP); default until committed.</summary>
    public DateTimeOffset Timestamp { get; private set; }

    public bool IsCommitted => Volatile.Read(ref _committed) != 0;

    /// <summary>Extra fields (hook exit status, output excerpt, generations, ...), in the order added; written in their own SD element.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Extra => _extra ?? (IReadOnlyList<KeyValuePair<string, string>>)[];

    /// <summary>Adds an extra field. Names should be lower_snake_case ASCII (others are sanitised by the formatter).</summary>
    public AuditRecord Set(string key, string? value)
    {
        ThrowIfCommitted();
        ArgumentException.ThrowIfNullOrEmpty(key);
        (_extra ??= []).Add(new(key, value ?? string.Empty));
        return this;
    }

    /// <inheritdoc cref="Set(string, string?)"/>
    public AuditRecord Set(string key, long value) => Set(key, value.ToString(CultureInfo.InvariantCulture));

    /// <summary>Adds an extra field from raw device bytes; invalid UTF-8 becomes U+FFFD.</summary>
    public AuditRecord Set(string key, ReadOnlySpan<byte> utf8Value) => Set(key, Encoding.UTF8.GetString(utf8Value));

    /// <summary>Copies seq, event (coldplug wins over the action word), devpath and subsystem.</summary>
    public AuditRecord WithEvent(Uevent uevent)
    {
        ArgumentNullException.ThrowIfNull(uevent);
        if (uevent.SeqNum != 0)
        {
            Seq = uevent.SeqNum;
        }

        Event = uevent.Coldplug ? "coldplug" : uevent.ActionText;
        DevPath = uevent.DevPath;
        Subsystem = uevent.Subsystem;
        return this;
    }

    /// <summary>Copies vendor, product, serial and label (fields that are null stay as they were).</summary>
    public AuditRecord WithIdentity(DeviceIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        Vendor = identity.Vendor?.ToString() ?? Vendor;
        Product = identity.Product?.ToString() ?? Product;
        Serial = identity.Serial ?? Serial;
        Label = identity.FsLabel ?? Label;
        if (identity.FsProbeSkipped)
        {
            // No rule that could match needed the filesystem, so blkid was not asked: an empty label
            // here means "not looked at", not "no label" (issue 15).
            Set("fs_probe", "skipped");
        }

        if (identity.InterfacesProblem is { } problem)
        {
            // Says why an 'interfaces' condition did not hold for a device that looks like it should.
            Set("interfaces", "[" + string.Join(", ", identity.Interfaces.IsDefault ? [] : identity.Interfaces) + "]");
            Set("interfaces_problem", problem);
        }

        return this;
    }

    public void Succeed()
    {
        ThrowIfCommitted();
        Outcome = AuditOutcome.Success;
        Error = null;
    }

    public void Fail(string error)
    {
        ThrowIfCommitted();
        Outcome = AuditOutcome.Failure;
        Error = string.IsNullOrEmpty(error) ? "failed" : error;
    }

    /// <summary>Fails with the exception's message (not its stack: the diagnostic log has that).</summary>
    public void Fail(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        Fail(exception.Message);
    }

    /// <summary>Commits the record to its writer, once. Later calls do nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _committed, 1) != 0)
        {
            return;
        }

        LatencyMs = Stopwatch.GetElapsedTime(_startTimestamp, EndTimestamp ?? Stopwatch.GetTimestamp()).TotalMilliseconds;
        Timestamp = DateTimeOffset.UtcNow;
        if (Outcome != AuditOutcome.Success && Error is null)
        {
            Error = NotCompleted;
        }

        _writer.Write(this);
    }

    /// <summary>The human MSG, e.g. <c>attach 058f:6387 serial=576B63C4 to winxp: success in 3.2 ms</c>.</summary>
    public string FormatMessage()
    {
        if (Message is not null)
        {
            return Message;
        }

        var text = new StringBuilder(96);
        text.Append(Action ?? Type);
        if (Vendor is not null || Product is not null)
        {
            text.Append(' ').Append(Vendor ?? "????").Append(':').Append(Product ?? "????");
        }

        if (!string.IsNullOrEmpty(Serial))
        {
            text.Append(" serial=").Append(Serial);
        }

        if (!string.IsNullOrEmpty(Label))
        {
            text.Append(" label=").Append(Label);
        }

        if (Vendor is null && Product is null && !string.IsNullOrEmpty(DevPath))
        {
            text.Append(' ').Append(DevPath);
        }

        if (!string.IsNullOrEmpty(Target))
        {
            text.Append(Action is "detach" or "unmount" ? " from " : " to ").Append(Target);
        }

        if (!string.IsNullOrEmpty(Rule))
        {
            text.Append(" (rule ").Append(Rule).Append(')');
        }

        text.Append(": ").Append(Outcome == AuditOutcome.Success ? "success" : "failure");
        if (Error is not null)
        {
            text.Append(" (").Append(Error).Append(')');
        }

        if (LatencyMs is double ms)
        {
            text.Append(" in ").Append(ms.ToString("0.0", CultureInfo.InvariantCulture)).Append(" ms");
        }

        return text.ToString();
    }

    private void ThrowIfCommitted()
    {
        if (Volatile.Read(ref _committed) != 0)
        {
            throw new InvalidOperationException($"audit record {Type} is already committed");
        }
    }
}
