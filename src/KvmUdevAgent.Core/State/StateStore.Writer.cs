namespace KvmUdevAgent.Core.State;

public sealed partial class StateStore
{
    private async Task WriteLoopAsync()
    {
        TimeSpan retry = s_firstRetry;
        bool failing = false;
        while (true)
        {
            bool more;
            if (failing)
            {
                // After a failed write, come back on the next change or after the backoff,
                // whichever is first: the disk may have been freed meanwhile.
                using CancellationTokenSource backoff = new(retry, _timeProvider);
                try
                {
                    more = await _dirty.Reader.WaitToReadAsync(backoff.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    more = true;
                }
            }
            else
            {
                more = await _dirty.Reader.WaitToReadAsync().ConfigureAwait(false);
            }

            _dirty.Reader.TryRead(out _);
            StateWriteException? error = WritePending();
            retry = error is null ? s_firstRetry
                : failing ? TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, s_maxRetry.Ticks))
                : s_firstRetry;
            failing = error is not null;
            if (error is not null)
            {
                if (more)
                {
                    Log.WriteFailed(_logger, FilePath, retry, error);
                }
                else
                {
                    Log.FinalWriteFailed(_logger, FilePath, error);
                }
            }
            if (!more)
            {
                return;
            }
        }
    }

    /// <summary>Writes the newest snapshot if it is not on disk yet; the error if the write failed.</summary>
    private StateWriteException? WritePending()
    {
        AgentState state;
        long generation;
        lock (_lock)
        {
            state = _state;
            generation = _generation;
            if (_persistedGeneration >= generation)
            {
                CompleteWaiters(null);
                return null;
            }
        }

        try
        {
            StateFile.WriteAtomically(FilePath, StateFile.Serialize(state));
        }
        catch (StateWriteException ex)
        {
            Volatile.Write(ref _lastWriteError, ex);
            lock (_lock)
            {
                CompleteWaiters(ex);
            }

            return ex;
        }

        Volatile.Write(ref _lastWriteError, null);
        Log.Written(_logger, FilePath, state.Attachments.Length, state.Mounts.Length);
        lock (_lock)
        {
            _persistedGeneration = generation;
            CompleteWaiters(null);
        }

        return null;
    }

    /// <summary>Completes the flush waiters that are satisfied (or all of them with the error). Called under the lock.</summary>
    private void CompleteWaiters(StateWriteException? error)
    {
        for (int i = _flushWaiters.Count - 1; i >= 0; i--)
        {
            (long generation, TaskCompletionSource done) = _flushWaiters[i];
            if (error is not null)
            {
                done.TrySetException(error);
            }
            else if (generation <= _persistedGeneration)
            {
                done.TrySetResult();
            }
            else
            {
                continue;
            }

            _flushWaiters.RemoveAt(i);
        }
    }
}
