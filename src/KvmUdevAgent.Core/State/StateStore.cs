using System.Collections.Immutable;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Core.State;

/// <summary>
/// The persisted record of what the agent did. Mutations are thread-safe and apply to memory at
/// once; one background writer persists the newest snapshot atomically (see <see cref="StateFile"/>),
/// so a burst of changes costs one or two writes. A failed write (disk full, read-only) keeps the
/// in-memory state and the old file, is reported through <see cref="LastWriteError"/> and
/// <see cref="FlushAsync"/>, and is retried on the next change or after a backoff.
/// </summary>
public sealed partial class StateStore : IAsyncDisposable
{
    private static readonly TimeSpan s_firstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_maxRetry = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly Channel<bool> _dirty = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly List<(long Generation, TaskCompletionSource Done)> _flushWaiters = [];
    private AgentState _state;
    private long _generation;
    private long _persistedGeneration;
    private StateWriteException? _lastWriteError;
    private Task _writer = Task.CompletedTask;
    private int _disposed;

    private StateStore(string path, AgentState state, StateLoadResult loadResult, ILogger logger, TimeProvider timeProvider)
    {
        FilePath = path;
        _state = state;
        LoadResult = loadResult;
        _logger = logger;
        _timeProvider = timeProvider;
    }

    /// <summary>Absolute path of the state file.</summary>
    public string FilePath { get; }

    /// <summary>What was found on disk at open.</summary>
    public StateLoadResult LoadResult { get; }

    /// <summary>The current in-memory state (includes changes not yet on disk). Immutable; safe to keep.</summary>
    public AgentState Snapshot => Volatile.Read(ref _state);

    /// <summary>The error of the last write if it failed; null once a write succeeds again.</summary>
    public StateWriteException? LastWriteError => Volatile.Read(ref _lastWriteError);

    /// <summary>
    /// Loads (or starts) the state at <paramref name="path"/>: the directory is created with mode 0700
    /// if missing; a missing file is an empty state; a corrupt file is moved aside and reported in
    /// <see cref="LoadResult"/>, and the state starts empty. Leftover temp files of a crashed write are removed.
    /// </summary>
    /// <exception cref="IOException">The directory cannot be created, or the file exists but cannot be read (permissions, I/O error); the file is left alone.</exception>
    public static async Task<StateStore> OpenAsync(string path, ILogger<StateStore>? logger = null, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        TimeProvider time = timeProvider ?? TimeProvider.System;
        try
        {
            StateFile.EnsureDirectory(fullPath);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException($"Could not create the directory of the state file {fullPath}: {ex.Message}", ex);
        }

        int removed = StateFile.RemoveStaleTempFiles(fullPath);

        AgentState state = AgentState.Empty;
        StateLoadResult result;
        byte[]? content = null;
        // No file is the common case (a first start; every boot when the state lives on /run), so it
        // is looked for first rather than found through FileNotFoundException: issue 15, the thrown
        // exception paged in the runtime's exception dispatch and resource-string lookup at every
        // such start. The directory was just listed, so a false answer here means nothing is there;
        // a file removed between the two calls still ends in the FileNotFoundException below.
        if (Path.Exists(fullPath))
        {
            try
            {
                content = await File.ReadAllBytesAsync(fullPath, cancellationToken).ConfigureAwait(false);
            }
            catch (FileNotFoundException)
            {
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Unreadable is not corrupt: moving the file aside would lose a state that may be fine.
                throw new IOException($"Could not read the state file {fullPath}: {ex.Message}", ex);
            }
        }

        if (content is null)
        {
            result = new StateLoadResult { Outcome = StateLoadOutcome.Missing };
        }
        else if (StateFile.TryParse(content, out AgentState loaded, out string reason))
        {
            state = loaded;
            result = new StateLoadResult { Outcome = StateLoadOutcome.Loaded };
        }
        else
        {
            string? movedTo = StateFile.MoveAside(fullPath, time.GetUtcNow());
            result = new StateLoadResult { Outcome = StateLoadOutcome.Corrupt, Reason = reason, MovedTo = movedTo };
        }

        StateStore store = new(fullPath, state, result, (ILogger?)logger ?? NullLogger.Instance, time);
        if (removed > 0)
        {
            Log.TempFilesRemoved(store._logger, removed, fullPath);
        }

        store._writer = Task.Run(store.WriteLoopAsync, CancellationToken.None);
        return store;
    }

    /// <summary>Applies <paramref name="change"/> to the current state atomically and schedules a write. <paramref name="change"/> may run under a lock: keep it pure and quick.</summary>
    /// <returns>The new state.</returns>
    public AgentState Update(Func<AgentState, AgentState> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        AgentState next;
        lock (_lock)
        {
            next = change(_state) ?? throw new InvalidOperationException("A state change returned null.");
            if (ReferenceEquals(next, _state))
            {
                return next;
            }

            Volatile.Write(ref _state, next);
            _generation++;
        }

        _dirty.Writer.TryWrite(true);
        return next;
    }

    /// <summary>Records an attachment, replacing one with the same VM and QEMU id.</summary>
    public void SetAttachment(AttachmentRecord attachment)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        Update(s => s with { Attachments = Without(s.Attachments, a => IsSameAttachment(a, attachment.Vm, attachment.QemuId)).Add(attachment) });
    }

    /// <summary>Forgets an attachment; false if there was none with that VM and QEMU id.</summary>
    public bool RemoveAttachment(string vm, string qemuId)
    {
        bool found = false;
        Update(s =>
        {
            ImmutableArray<AttachmentRecord> left = Without(s.Attachments, a => IsSameAttachment(a, vm, qemuId));
            found = left.Length != s.Attachments.Length;
            return found ? s with { Attachments = left } : s;
        });
        return found;
    }

    /// <summary>Records a mount, replacing one with the same mount point.</summary>
    public void SetMount(MountRecord mount)
    {
        ArgumentNullException.ThrowIfNull(mount);
        Update(s => s with { Mounts = Without(s.Mounts, m => m.MountPoint == mount.MountPoint).Add(mount) });
    }

    /// <summary>Forgets a mount; false if there was none at that mount point.</summary>
    public bool RemoveMount(string mountPoint)
    {
        bool found = false;
        Update(s =>
        {
            ImmutableArray<MountRecord> left = Without(s.Mounts, m => m.MountPoint == mountPoint);
            found = left.Length != s.Mounts.Length;
            return found ? s with { Mounts = left } : s;
        });
        return found;
    }

    /// <summary>Completes when every change made before the call is on disk.</summary>
    /// <exception cref="StateWriteException">The write failed; the state stays in memory and will be retried.</exception>
    public Task FlushAsync(CancellationToken cancellationToken = default)
    {
        TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_persistedGeneration >= _generation)
            {
                return Task.CompletedTask;
            }

            _flushWaiters.Add((_generation, done));
        }

        _dirty.Writer.TryWrite(true);
        return done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Stops the writer after one last attempt to persist pending changes. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _dirty.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    private static bool IsSameAttachment(AttachmentRecord a, string vm, string qemuId) =>
        a.Vm == vm && a.QemuId == qemuId;

    private static ImmutableArray<T> Without<T>(ImmutableArray<T> items, Func<T, bool> predicate)
    {
        foreach (T item in items)
        {
            if (predicate(item))
            {
                return items.RemoveAll(x => predicate(x));
            }
        }

        return items;
    }
}
