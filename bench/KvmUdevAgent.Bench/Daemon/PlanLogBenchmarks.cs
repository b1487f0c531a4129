using System.Text;
using BenchmarkDotNet.Attributes;
using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Daemon;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Logging;
using MelILogger = Microsoft.Extensions.Logging.ILogger;
using MelLogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace KvmUdevAgent.Bench.Daemon;

/// <summary>
/// The throughput bench's plan line ("Plan for add DEVPATH: run /bin/true S000123 (timeout 10s)
/// (rule the-one)", issue 15) on each of its two threads: <see cref="Announce"/> is what the pipeline's
/// thread pays per event (<c>EventPipeline.Announce</c>'s log call through Microsoft.Extensions.Logging
/// and Serilog, as the daemon wires them, into a sink that keeps nothing), <see cref="WriteLine"/> what
/// the log writer's thread pays to turn that event into its text in the 64 KiB writer.
/// </summary>
[MemoryDiagnoser]
public class PlanLogBenchmarks : IDisposable
{
    private const string DevPath = "/devices/pci0000:00/0000:00:14.0/usb1/1-1.2.3";

    private static readonly MessageTemplate s_template = new Serilog.Parsing.MessageTemplateParser().Parse("Plan for {Action} {DevPath}: {Plan}");
    private static readonly StructureValue s_eventId = new([new LogEventProperty("Id", new ScalarValue(Core.LogEvents.AgentPlan)), new LogEventProperty("Name", new ScalarValue("Plan"))]);

    private readonly Plan _plan = new(null!, [new PlannedHook("the-one", ["/bin/true", "S000123"], HookSpec.DefaultTimeout)], 1);
    private readonly StreamWriter _writer = new(Stream.Null, new UTF8Encoding(false), 64 * 1024);
    private Logger _serilog = null!;
    private SerilogLoggerFactory _factory = null!;
    private MelILogger _logger = null!;
    private Serilog.ILogger _context = null!;
    private LogEvent _event = null!;
    private StderrLineFormatter _formatter = null!;
    private Logger _stderr = null!;
    private SerilogPlanLog _planLog = null!;
    private PlanLine _line = null!;

    [GlobalSetup]
    public void Setup()
    {
        var kept = new KeepLast();
        _serilog = new LoggerConfiguration().MinimumLevel.Information().Destructure.AsScalar<PlanText>().WriteTo.Sink(kept).CreateLogger();
        _factory = new SerilogLoggerFactory(_serilog);
        _logger = _factory.CreateLogger("KvmUdevAgent.Core.Agent.AgentDaemon");
        _context = _serilog.ForContext(Constants.SourceContextPropertyName, "KvmUdevAgent.Core.Agent.AgentDaemon");
        Announce();
        _event = kept.Last ?? throw new InvalidOperationException("no line logged");
        _formatter = new StderrLineFormatter(LogFormat.Text);
        _stderr = DaemonHost.WriteToStderr(new LoggerConfiguration(), LogFormat.Text, Stream.Null, DaemonHost.LogQueueCapacity, out StderrLogSink sink).CreateLogger();
        _planLog = new SerilogPlanLog(_stderr, sink);
        _line = new PlanLine("add", DevPath, _plan);
    }

    [Benchmark]
    public void Announce()
    {
        if (_logger.IsEnabled(MelLogLevel.Information))
        {
            KvmUdevAgent.Core.Agent.Log.Plan(_logger, "add", DevPath, new PlanText(_plan));
        }
    }

    /// <summary>
    /// Not what the daemon does, measured for comparison: the same event made by hand and written to the
    /// same Serilog logger, its template parsed once and its dictionary sized once (what the
    /// Microsoft.Extensions.Logging path through Serilog.Extensions.Logging cannot do).
    /// </summary>
    [Benchmark]
    public void AnnounceDirect()
    {
        if (_context.IsEnabled(LogEventLevel.Information))
        {
            var properties = new Dictionary<string, LogEventPropertyValue>(5)
            {
                ["Action"] = new ScalarValue("add"),
                ["DevPath"] = new ScalarValue(DevPath),
                ["Plan"] = new ScalarValue(new PlanText(_plan)),
                ["EventId"] = s_eventId,
            };
            _context.Write(LogEvent.UnstableAssembleFromParts(DateTimeOffset.Now, LogEventLevel.Information, null, s_template, properties, default, default));
        }
    }

    /// <summary>
    /// What the pipeline's thread pays since the sixth round (issue 15): <see cref="SerilogPlanLog"/> checks the
    /// level and queues the line as it is into the daemon's stderr sink (its writer thread running, writing
    /// into <see cref="Stream.Null"/>).
    /// </summary>
    [Benchmark]
    public void AnnouncePlanLog() => _planLog.Plan("add", DevPath, _plan);

    /// <summary>The writer thread's work for that line: its text straight from its parts.</summary>
    [Benchmark]
    public void WritePlanLine() => _formatter.Format(_line, _writer);

    [Benchmark]
    public void WriteLine()
    {
        // The event as the pipeline leaves it (its plan as the object; the writer used to replace it by its
        // text, here every time), then what the writer does with it.
        _event.AddOrUpdateProperty(new LogEventProperty("Plan", new ScalarValue(new PlanText(_plan))));
        _formatter.Format(_event, _writer);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _factory?.Dispose();
        _stderr?.Dispose();
        _serilog?.Dispose();
        _writer.Dispose();
        _formatter?.Dispose();
        GC.SuppressFinalize(this);
    }

    private sealed class KeepLast : ILogEventSink
    {
        public LogEvent? Last { get; private set; }

        public void Emit(LogEvent logEvent) => Last = logEvent;
    }
}
