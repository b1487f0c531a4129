using System.Diagnostics;

namespace KvmUdevAgent.Core.Actions;

internal sealed partial class MountAction
{
    /// <summary>
    /// Unmounts <paramref name="mountPoint"/> (which must be a directory directly inside the
    /// base) with <c>umount</c>, or <c>umount -l</c> if the target is busy, repeating while
    /// mounts are stacked there, then removes the directory if it is empty. Nothing mounted
    /// there is success (<see cref="MountOutcome.NotMounted"/>). With <paramref name="expected"/>,
    /// a mount of anything else there is left alone (<see cref="MountOutcome.LeftAlone"/>): it is
    /// not ours (issue 17: the administrator's own mount at a recorded mount point).
    /// </summary>
    public async Task<MountResult> RevertAsync(string mountPoint, MountedSource? expected, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mountPoint);
        var started = Stopwatch.GetTimestamp();
        var name = Path.GetFileName(mountPoint);
        if (mountPoint.Contains('\0', StringComparison.Ordinal)
            || !string.Equals(Path.GetFullPath(mountPoint), mountPoint, StringComparison.Ordinal)
            || !MountInfo.IsDirectChild(_mountBase, mountPoint)
            || name is "." or "..")
        {
            return Failed($"'{mountPoint}' is not a mount point directly inside {_mountBase}", mountPoint, started);
        }
        if (MountCommand.Find(MountDefaults.UmountPaths) is not { } umountProgram)
        {
            return Failed("umount(8) not found (Debian package: mount)", mountPoint, started);
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // umount(8) gets the mount point through our descriptor of the checked base, never
            // the configured path again (issue 17).
            if (!MountBaseDirectory.TryOpen(_mountBase, create: false, out var baseDir, out var reason))
            {
                return MountInfo.FindByMountPoint(MountInfo.Read(_mountInfoPath), mountPoint) is null
                    ? new MountResult { Outcome = MountOutcome.NotMounted, MountPoint = mountPoint, Error = Directory.Exists(_mountBase) ? reason : null, Duration = Elapsed(started) }
                    : Failed(reason + "; not unmounting through it", mountPoint, started);
            }
            using (baseDir)
            {
                var target = baseDir.ProcPath(name);
                var outcome = MountOutcome.NotMounted;
                // Each umount removes the topmost of possibly stacked mounts; a few is plenty.
                for (var round = 0; round < 8; round++)
                {
                    var top = MountInfo.FindByMountPoint(MountInfo.Read(_mountInfoPath), mountPoint);
                    if (top is null)
                    {
                        break;
                    }
                    if (expected is { } source && !source.Matches(top))
                    {
                        var held = top.Source == source.DevNode ? $"{top.Source} ({top.Major}:{top.Minor})" : top.Source;
                        var recorded = top.Source == source.DevNode ? source.ToString() : source.DevNode;
                        return new MountResult
                        {
                            Outcome = MountOutcome.LeftAlone,
                            MountPoint = mountPoint,
                            Error = $"{mountPoint} holds {held}, not the recorded {recorded}; leaving it mounted",
                            Duration = Elapsed(started),
                        };
                    }
                    var result = await MountCommand.RunAsync(umountProgram, ["-c", "--", target], MountDefaults.CommandTimeout, cancellationToken).ConfigureAwait(false);
                    Log.MountCommandCompleted(_logger, umountProgram, "-c -- " + target, result.ExitCode, result.Output);
                    if (result.ExitCode == 0)
                    {
                        outcome = outcome == MountOutcome.LazilyUnmounted ? outcome : MountOutcome.Unmounted;
                        continue;
                    }
                    if (MountInfo.FindByMountPoint(MountInfo.Read(_mountInfoPath), mountPoint) is null)
                    {
                        // Someone else unmounted it meanwhile.
                        continue;
                    }
                    // umount(8) has no exit code for EBUSY; with LC_ALL=C its message is "target is busy".
                    if (!result.Output.Contains("busy", StringComparison.Ordinal))
                    {
                        return Failed($"umount failed (exit {result.ExitCode}): {OneLine(result.Output)}", mountPoint, started);
                    }
                    var lazy = await MountCommand.RunAsync(umountProgram, ["-c", "-l", "--", target], MountDefaults.CommandTimeout, cancellationToken).ConfigureAwait(false);
                    Log.MountCommandCompleted(_logger, umountProgram, "-c -l -- " + target, lazy.ExitCode, lazy.Output);
                    if (lazy.ExitCode != 0)
                    {
                        return Failed($"umount -l failed (exit {lazy.ExitCode}): {OneLine(lazy.Output)}", mountPoint, started);
                    }
                    outcome = MountOutcome.LazilyUnmounted;
                }
                if (MountInfo.FindByMountPoint(MountInfo.Read(_mountInfoPath), mountPoint) is not null)
                {
                    return Failed("still mounted after repeated umount", mountPoint, started);
                }

                baseDir.RemoveEmpty(name, out var remark);
                return new MountResult { Outcome = outcome, MountPoint = mountPoint, Error = remark, Duration = Elapsed(started) };
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Unmounts whatever is mounted at <paramref name="mountPoint"/>; see <see cref="RevertAsync(string, MountedSource?, CancellationToken)"/>.</summary>
    public Task<MountResult> RevertAsync(string mountPoint, CancellationToken cancellationToken) => RevertAsync(mountPoint, null, cancellationToken);
}
