using System.Diagnostics;

namespace KvmUdevAgent.Core.Actions;

internal sealed partial class MountAction
{
    /// <summary>
    /// Unmounts <paramref name="mountPoint"/> (which must be a directory directly inside the
    /// base) with <c>umount</c>, or <c>umount -l</c> if the target is busy, repeating while
    /// mounts are stacked there, then removes the directory if it is empty. Nothing mounted
    /// there is success (<see cref="MountOutcome.NotMounted"/>).
    /// </summary>
    public async Task<MountResult> RevertAsync(string mountPoint, CancellationToken cancellationToken)
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
            var outcome = MountOutcome.NotMounted;
            // Each umount removes the topmost of possibly stacked mounts; a few is plenty.
            for (var round = 0; round < 8; round++)
            {
                if (MountInfo.FindByMountPoint(MountInfo.Read(_mountInfoPath), mountPoint) is null)
                {
                    break;
                }
                var result = await MountCommand.RunAsync(umountProgram, ["--", mountPoint], MountDefaults.CommandTimeout, cancellationToken).ConfigureAwait(false);
                Log.MountCommandCompleted(_logger, umountProgram, "-- " + mountPoint, result.ExitCode, result.Output);
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
                var lazy = await MountCommand.RunAsync(umountProgram, ["-l", "--", mountPoint], MountDefaults.CommandTimeout, cancellationToken).ConfigureAwait(false);
                Log.MountCommandCompleted(_logger, umountProgram, "-l -- " + mountPoint, lazy.ExitCode, lazy.Output);
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

            string? remark = null;
            if (MountBaseDirectory.TryOpen(_mountBase, create: false, out var baseDir, out var reason))
            {
                using (baseDir)
                {
                    baseDir.RemoveEmpty(name, out remark);
                }
            }
            else if (Directory.Exists(_mountBase))
            {
                remark = reason;
            }
            return new MountResult { Outcome = outcome, MountPoint = mountPoint, Error = remark, Duration = Elapsed(started) };
        }
        finally
        {
            _lock.Release();
        }
    }
}
