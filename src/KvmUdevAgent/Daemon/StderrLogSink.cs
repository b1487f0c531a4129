using System.Text;
using KvmUdevAgent.Core.Agent;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Sinks.Async;

namespace KvmUdevAgent.Daemon;

/// <summary>
/// The daemon's log on stderr, behind Serilog's async wrapper (<c>WriteTo.Async</c>): the wrapper's
/// worker thread formats each line into a buffered writer, and writes (and flushes) only once the
/// wrapper's queue is empty, so a burst of lines costs one <c>write(2)</c> per buffer, not one per line,
/// and the event path only enqueues. The buffer is never left holding a line while the queue is
/// empty: the worker checks the queue after every line and flushes before it would wait.
/// Disposing (the logger's disposal, after the async wrapper has drained its queue) flushes.
/// </summary>
internal sealed class StderrLogSink(ITextFormatter formatter, Stream output) : ILogEventSink, IAsyncLogEventSinkMonitor, IDisposable
{
    private const int BufferSize = 64 * 1024;

    private readonly StreamWriter _writer = new(output, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), BufferSize, leaveOpen: true) { AutoFlush = false };
    private IAsyncLogEventSinkInspector? _queue;
    private bool _disposed;

    /// <summary>Only the async wrapper's worker calls this: one thread, lines in order.</summary>
    public void Emit(LogEvent logEvent)
    {
        RenderDeferredText(logEvent);
        formatter.Format(logEvent, _writer);
        if (_queue is null || _queue.Count == 0)
        {
            Flush();
        }
    }

    /// <summary>Called by the async wrapper when it is built: its queue tells when a batch has ended.</summary>
    public void StartMonitoring(IAsyncLogEventSinkInspector inspector) => _queue = inspector;

    public void StopMonitoring(IAsyncLogEventSinkInspector inspector) => _queue = null;

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Flush();
        _writer.Dispose();
    }

    /// <summary>
    /// A plan kept as its object (<see cref="PlanText"/>, registered as a scalar) becomes its text
    /// here, on the worker: as text it renders as any string property does (unquoted in the message).
    /// </summary>
    private static void RenderDeferredText(LogEvent logEvent)
    {
        foreach (KeyValuePair<string, LogEventPropertyValue> property in logEvent.Properties)
        {
            if (property.Value is ScalarValue { Value: PlanText text })
            {
                logEvent.AddOrUpdateProperty(new LogEventProperty(property.Key, new ScalarValue(text.ToString())));
                return;
            }
        }
    }

    private void Flush()
    {
        try
        {
            _writer.Flush();
        }
        catch (IOException)
        {
            // stderr closed (EPIPE) or full device: the log has nowhere to go, the daemon goes on.
        }
    }
}
