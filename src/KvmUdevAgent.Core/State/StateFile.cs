using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Tmds.Linux;

namespace KvmUdevAgent.Core.State;

/// <summary>
/// The state file on disk: atomic replace (temp file in the same directory, write, fsync, rename
/// over, fsync the directory) and tolerant load. A reader never sees a partial file: rename(2)
/// swaps the directory entry in one step, and the data is on disk before the swap.
/// </summary>
internal static class StateFile
{
    private const UnixFileMode FileMode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode DirMode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Prefix of temp files; they start with a dot so a glob for <c>state.json*</c> does not pick them up.</summary>
    public static string TempPrefix(string path) => "." + Path.GetFileName(path) + ".tmp-";

    /// <summary>Creates the directory (mode 0700) if it is missing. An existing directory keeps its mode.</summary>
    public static void EnsureDirectory(string path)
    {
        string directory = DirectoryOf(path);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The state store runs on Linux only.");
        }

        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, DirMode0700);
        }
    }

    public static byte[] Serialize(AgentState state) =>
        JsonSerializer.SerializeToUtf8Bytes(state, StateJsonContext.Default.AgentState);

    /// <summary>Parses a state file; false with a one-line reason when it is not a valid version-1 state.</summary>
    public static bool TryParse(ReadOnlySpan<byte> json, out AgentState state, out string reason)
    {
        state = AgentState.Empty;
        AgentState? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(json, StateJsonContext.Default.AgentState);
        }
        catch (JsonException ex)
        {
            reason = ex.Message.ReplaceLineEndings(" ");
            return false;
        }

        if (parsed is null)
        {
            reason = "the file holds JSON null";
            return false;
        }

        if (parsed.Version != AgentState.CurrentVersion)
        {
            reason = string.Create(CultureInfo.InvariantCulture, $"unsupported version {parsed.Version}; this build reads version {AgentState.CurrentVersion}");
            return false;
        }

        // "attachments": null would leave a default ImmutableArray, which throws on use.
        if (parsed.Attachments.IsDefault || parsed.Mounts.IsDefault)
        {
            reason = "'attachments' and 'mounts' must be arrays";
            return false;
        }

        state = parsed;
        reason = string.Empty;
        return true;
    }

    /// <summary>Replaces the file at <paramref name="path"/> with <paramref name="content"/> atomically.</summary>
    /// <exception cref="StateWriteException">Any step failed; the previous file is intact and the temp file is removed.</exception>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> content)
    {
        string directory = DirectoryOf(path);
        string temp = Path.Combine(directory, TempPrefix(path) + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8]);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The state store runs on Linux only.");
        }

        try
        {
            FileStreamOptions options = new()
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                UnixCreateMode = FileMode0600,
                BufferSize = 0,
            };
            using (FileStream stream = new(temp, options))
            {
                stream.Write(content);
                // Flush(true) is fsync(2): the data must be on disk before the rename makes it the
                // state file, or a crash could leave a renamed but empty file (ext4 delalloc).
                stream.Flush(flushToDisk: true);
            }

            // File.Move with overwrite is rename(2) on Linux: atomic replacement of the entry.
            File.Move(temp, path, overwrite: true);
            FsyncDirectory(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new StateWriteException($"Could not write the state file {path}: {ex.Message}; the previous file is kept", ex);
        }
    }

    /// <summary>Removes temp files a crashed writer left behind; returns how many.</summary>
    public static int RemoveStaleTempFiles(string path)
    {
        string directory = DirectoryOf(path);
        int removed = 0;
        if (!Directory.Exists(directory))
        {
            return 0;
        }

        foreach (string file in Directory.EnumerateFiles(directory, TempPrefix(path) + "*"))
        {
            if (TryDelete(file))
            {
                removed++;
            }
        }

        return removed;
    }

    /// <summary>Moves a corrupt file aside as <c>NAME.corrupt-yyyyMMddTHHmmssZ</c> (with a counter if taken); null if that failed too.</summary>
    public static string? MoveAside(string path, DateTimeOffset now)
    {
        string stamp = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        string target = path + ".corrupt-" + stamp;
        for (int i = 1; File.Exists(target); i++)
        {
            target = path + ".corrupt-" + stamp + "-" + i.ToString(CultureInfo.InvariantCulture);
        }

        try
        {
            File.Move(path, target, overwrite: false);
            return target;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string DirectoryOf(string path) =>
        Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/";

    private static unsafe void FsyncDirectory(string directory)
    {
        // The rename is only durable once the directory itself is on disk (fsync(2) NOTES).
        byte[] pathBytes = System.Text.Encoding.UTF8.GetBytes(directory + "\0");
        int fd;
        fixed (byte* p = pathBytes)
        {
            fd = LibC.open(p, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        }

        if (fd < 0)
        {
            throw new IOException($"open({directory}) for fsync: {Marshal.GetPInvokeErrorMessage(LibC.errno)}");
        }

        try
        {
            if (LibC.fsync(fd) < 0)
            {
                throw new IOException($"fsync({directory}): {Marshal.GetPInvokeErrorMessage(LibC.errno)}");
            }
        }
        finally
        {
            _ = LibC.close(fd);
        }
    }

    private static bool TryDelete(string file)
    {
        try
        {
            File.Delete(file);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
