using System.Text.Json;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>Asynchronous events: the event channel and one-shot waits registered before a command.</summary>
internal sealed partial class QmpConnection
{
    /// <summary>
    /// Registers, before the command that causes it is sent, a wait for the first event that
    /// <paramref name="match"/> accepts. The task fails with <see cref="MonitorDisconnectedException"/>
    /// when the connection closes first, and is cancelled with <paramref name="cancellationToken"/>.
    /// </summary>
    public Task<QmpEvent> WaitForEvent(Func<QmpEvent, bool> match, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<QmpEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waitersLock)
        {
            if (_closed)
            {
                done.SetException(new MonitorDisconnectedException("The QMP connection is closed."));
                return done.Task;
            }

            _waiters.Add((match, done));
        }

        if (cancellationToken.CanBeCanceled)
        {
            CancellationTokenRegistration registration = cancellationToken.Register(() =>
            {
                lock (_waitersLock)
                {
                    _waiters.RemoveAll(w => w.Done == done);
                }

                done.TrySetCanceled(cancellationToken);
            });
            _ = done.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return done.Task;
    }

    private void DispatchEvent(string name, JsonElement root, int bytes)
    {
        JsonElement data = root.TryGetProperty("data", out JsonElement d) ? d : default;
        var qmpEvent = new QmpEvent(name, data);
        _events.Add(qmpEvent, bytes);
        List<TaskCompletionSource<QmpEvent>>? matched = null;
        lock (_waitersLock)
        {
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(qmpEvent))
                {
                    (matched ??= []).Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }

        matched?.ForEach(m => m.TrySetResult(qmpEvent));
    }
}
