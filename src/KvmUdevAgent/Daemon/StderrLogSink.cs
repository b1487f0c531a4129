using System.Text;
using Serilog.Core;
using Serilog.Debugging;
using Serilog.Events;

namespace KvmUdevAgent.Daemon;

/// <summary>
/// The daemon's log on stderr, written by a thread of its own, never on the event path: a logging
/// thread only queues the line. The writer thread takes every queued line at once, formats them into a
/// 64 KiB buffered writer and writes (and flushes) once nothing more is queued, so a burst costs one
/// <c>write(2)</c> per buffer, not one per line, and no line is left in the buffer while the queue is
/// empty. A full queue (<c>capacity</c> lines) makes the logging thread wait, never drops a line: stderr
/// is a local pipe (journald, a terminal, the tests), and under <c>--dry-run</c> the plan lines are the
/// output itself. Disposing (the logger's disposal: at every stop, before a start failure's summary, on
/// a crash) writes every line queued before it, then flushes.
/// </summary>
/// <remarks>
/// Hand-written around a monitor because nothing served fits (issue 15): Serilog.Sinks.Async's
/// <c>BlockingCollection</c> spins in <c>SemaphoreSlim</c> before it sleeps (7 % of the daemon's CPU
/// unpaced, 16 % at 20,000 events/s; not configurable), Serilog's own batching (<c>BatchingOptions</c>,
/// and Serilog.Sinks.PeriodicBatching on top of it) drops lines when its bounded queue is full and
/// wakes on a timer, and a <c>Channel</c> has no synchronous wait: a waiting writer or reader is woken
/// through the thread pool, whose threads may be the very ones waiting on the full queue. Here the
/// writer thread sleeps at once (<see cref="Monitor.Wait(object)"/>), is woken only when it sleeps and a
/// line comes, then lets the lines right behind that one queue for a millisecond, and takes the lock
/// once per batch, not per line.
/// </remarks>
internal sealed class StderrLogSink : ILogEventSink, IDisposable
{
    private const int BufferSize = 64 * 1024;

    /// <summary>How long the thread, woken by a line, lets more lines come before it takes them.</summary>
    private const int CoalesceMilliseconds = 1;

    private readonly StderrLineFormatter _formatter;
    private readonly StreamWriter _writer;
    private readonly int _capacity;
    private readonly object _gate = new();
    private readonly Thread _thread;
    // Lines: a LogEvent, or a plan's line as the pipeline said it (PlanLine), made into text here.
    private Queue<object> _queued = new();
    private Queue<object> _taken = new();
    private bool _writerWaiting;
    private int _loggersWaiting;
    private bool _stopping;
    private int _disposed;

    public StderrLogSink(StderrLineFormatter formatter, Stream output, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _formatter = formatter;
        _writer = new StreamWriter(output, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), BufferSize, leaveOpen: true) { AutoFlush = false };
        _capacity = capacity;
        _thread = new Thread(WriteLoop) { IsBackground = true, Name = "log-writer" };
        _thread.Start();
    }

    /// <summary>Any thread: queues the line, waiting while <c>capacity</c> lines are queued. After disposal, drops it.</summary>
    public void Emit(LogEvent logEvent) => Enqueue(logEvent);

    /// <summary>
    /// Any thread: queues a plan's line, to be made into text by the writer thread, in order with the
    /// others (<see cref="SerilogPlanLog"/>); waits and drops as <see cref="Emit(LogEvent)"/>.
    /// </summary>
    public void Emit(PlanLine line) => Enqueue(line);

    private void Enqueue(object line)
    {
        lock (_gate)
        {
            while (_queued.Count >= _capacity && !_stopping)
            {
                _loggersWaiting++;
                Monitor.Wait(_gate);
                _loggersWaiting--;
            }

            if (_stopping)
            {
                return;
            }

            _queued.Enqueue(line);
            if (_writerWaiting)
            {
                _writerWaiting = false;
                Monitor.PulseAll(_gate);
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }

        // The writer thread writes what was queued before the stop, flushes and ends.
        _thread.Join();
        try
        {
            _writer.Dispose();
        }
        catch (IOException)
        {
            // stderr closed: nothing was left to write anyway (the thread flushed last).
        }

        _formatter.Dispose();
    }

    private void WriteLoop()
    {
        while (true)
        {
            bool woken = false;
            lock (_gate)
            {
                while (_queued.Count == 0 && !_stopping)
                {
                    _writerWaiting = true;
                    Monitor.Wait(_gate);
                    woken = true;
                }
            }

            if (woken && !Volatile.Read(ref _stopping))
            {
                // Woken by a line after a quiet spell: the lines right behind it are taken with it, a
                // moment later, instead of each waking this thread (at 20,000 lines/s, 20,000 wakes).
                // Loggers do not wake it meanwhile (it is not waiting), nor wait for it unless the queue fills.
                Thread.Sleep(CoalesceMilliseconds);
            }

            lock (_gate)
            {
                if (_queued.Count == 0)
                {
                    break;
                }

                (_queued, _taken) = (_taken, _queued);
                if (_loggersWaiting > 0)
                {
                    Monitor.PulseAll(_gate);
                }
            }

            while (_taken.TryDequeue(out object? line))
            {
                Write(line);
            }

            if (Volatile.Read(ref _queued).Count == 0)
            {
                Flush();
            }
        }

        Flush();
    }

    private void Write(object line)
    {
        try
        {
            if (line is PlanLine plan)
            {
                _formatter.Format(plan, _writer);
            }
            else
            {
                _formatter.Format((LogEvent)line, _writer);
            }
        }
        catch (IOException)
        {
            // stderr closed (EPIPE) or full device: the log has nowhere to go, the daemon goes on.
        }
        catch (Exception e)
        {
            // A line that cannot be rendered costs that line, never the thread (the lines behind it
            // would wait forever): as in Serilog's own sinks, it goes to SelfLog.
            SelfLog.WriteLine("Could not write a log line: {0}", e);
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
