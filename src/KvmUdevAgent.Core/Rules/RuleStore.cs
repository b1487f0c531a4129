using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// The daemon's current <see cref="RuleSet"/>. A reload builds a complete new set and swaps it in
/// with one atomic exchange, so a matcher sees either the old or the new set, never a mix. A bad
/// reload keeps the previous set; a bad first load is an error the host refuses to start on.
/// Watches the directory (debounced, so an editor's write-rename-chmod is one reload).
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
    private int _disposed;

    public RuleStore(string directory, IReadOnlySet<string>? knownVms, RulePermissions? permissions)
    {
        _directory = directory;
        _loader = new RuleSetLoader(knownVms, permissions);
    }

    /// <summary>The set in force; read it once per event and use that reference throughout.</summary>
    public RuleSet Current => Volatile.Read(ref _current);

    /// <summary>Raised after every reload triggered by the watcher (on a thread-pool thread).</summary>
    public event Action<RuleReloadResult>? Reloaded;

    /// <summary>The first load: on failure the store stays empty and the caller must refuse to start.</summary>
    public RuleReloadResult Load() => Reload();

    /// <summary>
    /// Loads the directory again and swaps the new set in if it has no errors. Raises
    /// <see cref="Reloaded"/> whoever asked (watcher, SIGHUP, control socket), so every reload
    /// leaves the same trace.
    /// </summary>
    public RuleReloadResult Reload()
    {
        RuleReloadResult reload;
        lock (_reloadLock)
        {
            long attempted = _nextGeneration++;
            RuleLoadResult result = _loader.LoadDirectory(_directory, attempted);
            if (result.Succeeded)
            {
                Interlocked.Exchange(ref _current, result.RuleSet);
            }

            reload = result.Succeeded
                ? new RuleReloadResult(true, attempted, attempted, result.RuleSet!.Rules.Count, result.Diagnostics)
                : new RuleReloadResult(false, Current.Generation, attempted, Current.Rules.Count, result.Diagnostics);
        }

        Reloaded?.Invoke(reload);
        return reload;
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

        Reload();
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
