using System.IO.Pipes;
using System.Text;
using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Daemon;
using Serilog;
using Serilog.Core;

namespace KvmUdevAgent.Tests.Daemon;

/// <summary>
/// The daemon's stderr log (<see cref="DaemonHost.WriteToStderr"/>): written by a worker thread in
/// batches, but never left in the buffer while the queue is empty, never dropped when the reader
/// stalls (the writer waits instead), and drained by disposing the logger, as the host does at stop.
/// </summary>
public sealed class StderrLogSinkTests
{
    private static readonly TimeSpan s_generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WriteToStderr_OneLineThenIdle_LineReachesTheReaderWithoutDispose()
    {
        using var pipe = new AnonymousPipeServerStream(PipeDirection.In);
        using var output = new AnonymousPipeClientStream(PipeDirection.Out, pipe.ClientSafePipeHandle);
        using Logger logger = DaemonHost.WriteToStderr(new LoggerConfiguration(), LogFormat.Text, output, queueCapacity: 16).CreateLogger();
        using var reader = new StreamReader(pipe, Encoding.UTF8);

        logger.Information("Ready: {Rules} rules", 3);

        Assert.Equal("INF Ready: 3 rules", await reader.ReadLineAsync().WaitAsync(s_generous));
    }

    [Fact]
    public void WriteToStderr_DisposedRightAfterABurst_EveryLineWrittenInOrder()
    {
        var output = new MemoryStream();
        using (Logger logger = DaemonHost.WriteToStderr(new LoggerConfiguration(), LogFormat.Text, output, queueCapacity: 10_000).CreateLogger())
        {
            for (int i = 0; i < 5_000; i++)
            {
                logger.Information("Plan for add {Line}", i);
            }
        }

        string[] lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(0, 5_000).Select(i => $"INF Plan for add {i}"), lines);
    }

    [Fact]
    public void WriteToStderr_ReaderStalledPastTheQueue_LoggerWaitsAndNoLineIsLost()
    {
        const int Capacity = 4;
        const int Lines = 20_000; // ~500 KB: more than the writer's 64 KiB buffer, so the worker certainly writes mid-burst
        using var output = new GatedStream();
        Logger logger = DaemonHost.WriteToStderr(new LoggerConfiguration(), LogFormat.Text, output, queueCapacity: Capacity).CreateLogger();
        var logging = new Thread(() =>
        {
            for (int i = 0; i < Lines; i++)
            {
                logger.Information("Plan for add {Line}", i);
            }
        });
        try
        {
            logging.Start();

            // The worker is stuck in write(2); the queue behind it fills and the logging thread
            // must wait in it (a dropping queue would let it run to the end).
            Assert.True(output.WriteEntered.Wait(s_generous), "the worker never wrote");
            DateTime deadline = DateTime.UtcNow + s_generous;
            while (logging.IsAlive && (logging.ThreadState & ThreadState.WaitSleepJoin) == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the logging thread neither finished nor waited");
                Thread.Sleep(5);
            }

            Assert.True(logging.IsAlive, "every line was accepted while the reader was stalled: lines were dropped");
            output.Open();
            Assert.True(logging.Join(s_generous), "the logging thread never resumed");
        }
        finally
        {
            output.Open();
            logger.Dispose();
        }

        string[] lines = Encoding.UTF8.GetString(output.Written).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(0, Lines).Select(i => $"INF Plan for add {i}"), lines);
    }

    [Fact]
    public void WriteToStderr_Json_OneCompactJsonObjectPerLine()
    {
        var output = new MemoryStream();
        using (Logger logger = DaemonHost.WriteToStderr(new LoggerConfiguration(), LogFormat.Json, output, queueCapacity: 16).CreateLogger())
        {
            logger.Warning("Stopped: {Undelivered} audit records could not be delivered", 2);
        }

        string line = Encoding.UTF8.GetString(output.ToArray()).TrimEnd('\n');
        using var doc = System.Text.Json.JsonDocument.Parse(line);
        Assert.Equal("Stopped: {Undelivered} audit records could not be delivered", doc.RootElement.GetProperty("@mt").GetString());
        Assert.Equal(2, doc.RootElement.GetProperty("Undelivered").GetInt32());
        Assert.Equal("Warning", doc.RootElement.GetProperty("@l").GetString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WriteToStderr_PlanText_RenderedByTheWorkerAsThePlansText(bool json)
    {
        LogFormat format = json ? LogFormat.Json : LogFormat.Text;
        var plan = new Plan(null!, [new PlannedAttach("flash-to-winxp", "winxp", AttachKind.UsbHost, false)], 1);
        var output = new MemoryStream();
        using (Logger logger = DaemonHost.WriteToStderr(new LoggerConfiguration(), format, output, queueCapacity: 16).CreateLogger())
        {
            logger.Information("Plan for {Action} {DevPath}: {Plan}", "add", "/devices/x", new PlanText(plan));
        }

        string line = Encoding.UTF8.GetString(output.ToArray()).TrimEnd('\n');
        const string Expected = "attach to winxp as usb-host (rule flash-to-winxp)";
        if (format == LogFormat.Text)
        {
            Assert.Equal("INF Plan for add /devices/x: " + Expected, line);
        }
        else
        {
            using var doc = System.Text.Json.JsonDocument.Parse(line);
            Assert.Equal(Expected, doc.RootElement.GetProperty("Plan").GetString());
        }
    }

    /// <summary>A stderr whose reader has stalled until <see cref="Open"/>: every write waits for it.</summary>
    private sealed class GatedStream : Stream
    {
        private readonly ManualResetEventSlim _open = new();
        private readonly MemoryStream _written = new();

        public ManualResetEventSlim WriteEntered { get; } = new();

        public byte[] Written
        {
            get
            {
                lock (_written)
                {
                    return _written.ToArray();
                }
            }
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public void Open() => _open.Set();

        public override void Write(byte[] buffer, int offset, int count)
        {
            WriteEntered.Set();
            _open.Wait();
            lock (_written)
            {
                _written.Write(buffer, offset, count);
            }
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _open.Dispose();
                WriteEntered.Dispose();
                _written.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
