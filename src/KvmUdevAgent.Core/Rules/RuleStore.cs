using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// The daemon's current <see cref="RuleSet"/>. A reload builds a complete new set and swaps it in
/// with one atomic exchange, so a matcher sees either the old or the new set, never a mix. A bad
/// reload keeps the previous set; a bad first load is an error the host refuses to start on.
/// Watches the directory (debounced, so an editor's write-rename-chmod is one reload). The
/// watcher reloads only when the files differ from what the last reload read: an edit followed
/// by SIGHUP (or <c>reload</c>) is reloaded once, by the explicit request, and the watcher's
/// event for the same edit finds nothing new. An explicit request always reloads.
/// </summary>
internal sealed class RuleStore : IDisposable
{
    private readonly string _directory;
    private readonly RuleSetLoader _loader;
    private readonly Lock _reloadLock = new();
    private RuleSet _current = RuleSet.Empty;
    private long _nextGeneration = 1;
    private FileSystemWatcher? _watcher;
    private Timer? _debounce;
    private TimeSpan _debounceDelay;
    private byte[]? _lastRead;
    private int _disposed;

    public RuleStore(string directory, IReadOnlySet<string>? knownVms, RulePermissions? permissions)
    {
        _directory = directory;
        _loader = new RuleSetLoader(knownVms, permissions);
    }

    /// <summary>The set in force; read it once per event and use that reference throughout.</summary>
    public RuleSet Current => Volatile.Read(ref _current);

    /// <summary>Raised after every reload, whoever asked (for the watcher's, on a thread-pool thread).</summary>
    public event Action<RuleReloadResult>? Reloaded;

    /// <summary>Raised when the watcher saw a change but the files are as the last reload read them; carries the active generation.</summary>
    public event Action<long>? ReloadSkipped;

    /// <summary>The first load: on failure the store stays empty and the caller must refuse to start.</summary>
    public RuleReloadResult Load() => Reload();

    /// <summary>
    /// Loads the directory again and swaps the new set in if it has no errors. Raises
    /// <see cref="Reloaded"/> whoever asked (watcher, SIGHUP, control socket), so every reload
    /// leaves the same trace.
    /// </summary>
    public RuleReloadResult Reload()
    {
        // A change the watcher has seen but not yet reloaded is read by this reload: its pending
        // debounced reload would only find the same files.
        try
        {
            _debounce?.Change(Timeout.Infinite, Timeout.Infinite);
        }
        catch (ObjectDisposedException)
        {
            // Stopping: the watcher is gone already.
        }

        return ReloadCore(onlyIfChanged: false)!;
    }

    /// <returns>null when <paramref name="onlyIfChanged"/> and nothing changed since the last reload.</returns>
    private RuleReloadResult? ReloadCore(bool onlyIfChanged)
    {
        RuleReloadResult? reload;
        lock (_reloadLock)
        {
            // Taken before the files are read: a change made during the load makes the next
            // fingerprint differ, so it is reloaded, never skipped.
            byte[]? fingerprint = _loader.Fingerprint(_directory);
            if (onlyIfChanged && fingerprint is not null && _lastRead is not null && fingerprint.AsSpan().SequenceEqual(_lastRead))
            {
                reload = null;
            }
            else
            {
                reload = Load(fingerprint);
            }
        }

        if (reload is null)
        {
            ReloadSkipped?.Invoke(Current.Generation);
            return null;
        }

        Reloaded?.Invoke(reload);
        return reload;
    }

    // Called under the reload lock.
    private RuleReloadResult Load(byte[]? fingerprint)
    {
        _lastRead = fingerprint;
        long attempted = _nextGeneration++;
        RuleLoadResult result = _loader.LoadDirectory(_directory, attempted);
        if (result.Succeeded)
        {
            Interlocked.Exchange(ref _current, result.RuleSet);
        }

        return result.Succeeded
            ? new RuleReloadResult(true, attempted, attempted, result.RuleSet!.Rules.Count, result.Diagnostics)
            : new RuleReloadResult(false, Current.Generation, attempted, Current.Rules.Count, result.Diagnostics);
    }

    /// <summary>Starts watching the directory; changes settle for <paramref name="debounce"/> before a reload.</summary>
    public void StartWatching(TimeSpan debounce)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        _debounceDelay = debounce;
        _debounce = new Timer(_ => OnDebounced(), null, Timeout.Infinite, Timeout.Infinite);
        _watcher = new FileSystemWatcher(_directory)
        {
            IncludeSubdirectories = false,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Attributes | NotifyFilters.Size | NotifyFilters.Security,
        };
        _watcher.Changed += OnChanged;
        _watcher.Created += OnChanged;
        _watcher.Deleted += OnChanged;
        _watcher.Renamed += OnChanged;
        _watcher.EnableRaisingEvents = true;
    }

    private void OnChanged(object sender, FileSystemEventArgs e) => _debounce?.Change(_debounceDelay, Timeout.InfiniteTimeSpan);

    private void OnDebounced()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        ReloadCore(onlyIfChanged: true);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _watcher?.Dispose();
        _debounce?.Dispose();
    }

    internal static ImmutableArray<RuleDiagnostic> ErrorsOf(RuleReloadResult result) =>
        [.. result.Diagnostics.Where(d => d.Severity == Severity.Error)];
}
