using System.Collections.Concurrent;
using System.Text.Json;
using KvmUdevAgent.Core.Control;

namespace KvmUdevAgent.Core.Tests.Control;

/// <summary>A handler that answers every verb and remembers what reached it.</summary>
internal sealed class RecordingHandler : IControlHandler
{
    public ConcurrentQueue<ControlRequest> Requests { get; } = new();

    public Func<ControlRequest, ControlResult>? Answer { get; set; }

    public ValueTask<ControlResult> HandleAsync(ControlRequest request, CancellationToken cancellationToken)
    {
        Requests.Enqueue(request);
        if (Answer is not null)
        {
            return ValueTask.FromResult(Answer(request));
        }

        return ValueTask.FromResult(request.Verb == ControlVerbs.Status
            ? ControlResult.Success(Status, ControlJsonContext.Default.StatusReport)
            : ControlResult.Success(JsonDocument.Parse($$"""{"done":"{{request.Verb}}"}""").RootElement));
    }

    public static StatusReport Status { get; } = new()
    {
        Version = "0.1.0-test",
        Pid = 4242,
        StartedAt = new DateTimeOffset(2026, 11, 26, 6, 0, 0, TimeSpan.Zero),
        UptimeSeconds = 3723.5,
        Source = "udev",
        Rules = 3,
        RulesGeneration = 2,
        Counters = new StatusCounters { Events = 120, Matched = 7, Acted = 6, Failed = 1, Dropped = 2 },
        AuditDropped = 0,
        Attachments = 1,
        Mounts = 0,
    };
}
