using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// Mounts block devices under the mount base with mount(8), and unmounts them again. Mount
/// points are single directories directly inside the base; nothing is created or unmounted
/// anywhere else. Errors come back in <see cref="MountResult"/>; nothing is logged above Debug.
/// </summary>
/// <remarks>
/// Mounts and unmounts run one at a time: choosing a free name and mounting on it must be
/// atomic, or two drives with the same label, plugged together, would both pick <c>NAME</c>.
/// </remarks>
internal sealed partial class MountAction : IDisposable
{
    private readonly string _mountBase;
    private readonly string _mountInfoPath;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _lock = new(1, 1);

    /// <param name="mountBase">Absolute; created (mode 0700) if missing. Must not contain a symlink, be owned by root and not writable by group or others.</param>
    /// <param name="logger">Debug-level detail only.</param>
    /// <param name="mountInfoPath">The mount table to consult (tests only).</param>
    public MountAction(string mountBase, ILogger<MountAction>? logger = null, string mountInfoPath = MountInfo.DefaultPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(mountBase);
        _mountBase = Path.TrimEndingDirectorySeparator(Path.GetFullPath(mountBase));
        _mountInfoPath = mountInfoPath;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The canonical mount base (absolute, no trailing slash).</summary>
    public string MountBase => _mountBase;

    /// <summary>
    /// Mounts <see cref="MountRequest.DevNode"/> on a fresh or empty directory in the base,
    /// named after <see cref="MountRequest.Name"/> (sanitised; <c>NAME-2</c>, <c>NAME-3</c>, …
    /// when taken by an existing non-empty entry or a mount). If the device is already mounted
    /// inside the base, returns <see cref="MountOutcome.AlreadyMounted"/> with that mount point.
    /// </summary>
    public async Task<MountResult> ApplyAsync(MountRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = Stopwatch.GetTimestamp();
        if (!MountDeviceNode.TryValidate(request.DevNode, out var devNode, out var major, out var minor, out var reason)
            || !IsValidFsType(request.FsType, out reason)
            || !MountOptionSet.TryBuild(request, out var options, out reason))
        {
            return Failed(reason, null, started);
        }
        if (MountCommand.Find(MountDefaults.MountPaths) is not { } mountProgram)
        {
            return Failed("mount(8) not found (Debian package: mount)", null, started);
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!MountBaseDirectory.TryOpen(_mountBase, create: true, out var baseDir, out reason))
            {
                return Failed(reason, null, started);
            }
            using (baseDir)
            {
                var mounts = MountInfo.Read(_mountInfoPath);
                var existing = MountInfo.FindUnderBase(mounts, _mountBase, devNode, major, minor);
                if (existing.Count > 0)
                {
                    return new MountResult { Outcome = MountOutcome.AlreadyMounted, MountPoint = existing[0].MountPoint, Source = new MountedSource(existing[0].Source, existing[0].Major, existing[0].Minor), Duration = Elapsed(started) };
                }

                var name = MountPointName.Sanitize(request.Name, request.KernelName);
                string? mountPoint = null;
                for (var attempt = 1; attempt <= MountDefaults.MaxSuffix && mountPoint is null; attempt++)
                {
                    var candidate = MountPointName.WithSuffix(name, attempt);
                    var path = _mountBase + "/" + candidate;
                    if (MountInfo.FindByMountPoint(mounts, path) is not null)
                    {
                        Log.MountNameTaken(_logger, path, "mounted");
                        continue;
                    }
                    switch (baseDir.Claim(candidate, out reason))
                    {
                        case MountBaseDirectory.ClaimResult.Created or MountBaseDirectory.ClaimResult.ReusedEmpty:
                            mountPoint = path;
                            break;
                        case MountBaseDirectory.ClaimResult.Taken:
                            Log.MountNameTaken(_logger, path, reason);
                            break;
                        default:
                            return Failed(reason, null, started);
                    }
                }
                if (mountPoint is null)
                {
                    return Failed($"no free mount point name for '{name}' in {_mountBase} (tried {MountDefaults.MaxSuffix})", null, started);
                }

                // With both source and target given, mount(8) does not consult /etc/fstab, so
                // an fstab line for the same device cannot add options behind our back. -c: the
                // target is the directory under our descriptor, never re-resolved (issue 17).
                var arguments = new List<string>(9) { "-c" };
                if (request.FsType is { } fsType)
                {
                    arguments.Add("-t");
                    arguments.Add(fsType);
                }
                arguments.Add("-o");
                arguments.Add(string.Join(',', options));
                arguments.Add("--");
                arguments.Add(devNode);
                arguments.Add(baseDir.ProcPath(Path.GetFileName(mountPoint)));
                var before = mounts.Select(m => m.MountId).ToHashSet();
                var result = await MountCommand.RunAsync(mountProgram, arguments, MountDefaults.CommandTimeout, cancellationToken).ConfigureAwait(false);
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    var commandLine = string.Join(' ', arguments);
                    Log.MountCommandCompleted(_logger, mountProgram, commandLine, result.ExitCode, result.Output);
                }

                var after = MountInfo.Read(_mountInfoPath);
                var landed = after.Where(m => !before.Contains(m.MountId) && (m.Source == devNode || (m.Major == major && m.Minor == minor))).ToList();
                var mounted = landed.LastOrDefault(m => m.MountPoint == mountPoint);
                var strays = landed.Where(m => m.MountPoint != mountPoint).ToList();
                if (strays.Count > 0)
                {
                    // Cannot happen through a descriptor; if it ever does, it is undone at once.
                    await UndoStraysAsync(strays, cancellationToken).ConfigureAwait(false);
                }
                if (result.ExitCode != 0 || mounted is null)
                {
                    if (mounted is null)
                    {
                        // Leave no stray directory behind; rmdir refuses a non-empty one.
                        baseDir.RemoveEmpty(Path.GetFileName(mountPoint), out _);
                    }
                    var error = strays.Count > 0
                        ? $"mount(8) put the device at {string.Join(", ", strays.Select(m => m.MountPoint))}, not {mountPoint}; unmounted it again"
                        : result.ExitCode != 0
                        ? $"mount failed (exit {result.ExitCode}): {OneLine(result.Output)}"
                        : "mount(8) reported success but the mount point is not in the mount table";
                    return Failed(error, mountPoint, started) with { Options = options };
                }
                return new MountResult { Outcome = MountOutcome.Mounted, MountPoint = mountPoint, Options = options, Source = new MountedSource(mounted.Source, mounted.Major, mounted.Minor), Duration = Elapsed(started) };
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Mounts of <paramref name="devNode"/> (or, if null, all mounts) directly inside the base, from the live mount table.</summary>
    public IReadOnlyList<MountInfoEntry> FindMounts(string? devNode = null)
    {
        uint major = 0, minor = 0;
        string? source = null;
        if (devNode is not null)
        {
            if (!MountDeviceNode.TryValidate(devNode, out var resolved, out major, out minor, out _))
            {
                // The node is gone (device removed): match by the path as mounted.
                resolved = devNode;
            }
            source = resolved;
        }
        return MountInfo.FindUnderBase(MountInfo.Read(_mountInfoPath), _mountBase, source, major, minor);
    }

    public void Dispose() => _lock.Dispose();

    private async Task UndoStraysAsync(List<MountInfoEntry> strays, CancellationToken cancellationToken)
    {
        if (MountCommand.Find(MountDefaults.UmountPaths) is not { } umountProgram)
        {
            return;
        }
        foreach (var stray in Enumerable.Reverse(strays))
        {
            var undo = await MountCommand.RunAsync(umountProgram, ["-l", "--", stray.MountPoint], MountDefaults.CommandTimeout, cancellationToken).ConfigureAwait(false);
            Log.MountCommandCompleted(_logger, umountProgram, "-l -- " + stray.MountPoint, undo.ExitCode, undo.Output);
        }
    }

    private static bool IsValidFsType(string? fsType, out string reason)
    {
        // Kernel and helper type names: ext4, vfat, ntfs3, fuse.sshfs, ntfs-3g.
        if (fsType is null
            || (fsType.Length is > 0 and <= 64 && char.IsAsciiLetterOrDigit(fsType[0])
                && fsType.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '_' or '.' or '-' or '+')))
        {
            reason = "";
            return true;
        }
        reason = $"filesystem type '{fsType}' is not a plausible type name";
        return false;
    }

    private static MountResult Failed(string error, string? mountPoint, long started) =>
        new() { Outcome = MountOutcome.Failed, MountPoint = mountPoint, Error = error, Duration = Elapsed(started) };

    private static TimeSpan Elapsed(long started) => Stopwatch.GetElapsedTime(started);

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
