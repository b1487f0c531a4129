using System.Globalization;
using System.Text;
using KvmUdevAgent.Core.Paths;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Reads the rules directory the way the daemon must, since hooks run as root (issue 17): the
/// directory is opened through <see cref="TrustedPath"/> (no symlink, every parent root's and not
/// writable by others), each rule file is opened relative to that descriptor with
/// <c>O_NOFOLLOW</c>, and the permissions are judged with <c>fstat</c> on the very descriptor
/// that is then read. A swap of any path component between the check and the read changes nothing.
/// </summary>
internal static class RuleDirectoryReader
{
    /// <summary>The files' contents in ordinal name order, each with its path for diagnostics; or diagnostics.</summary>
    public static List<(string File, string Text)> Read(string directory, RulePermissions permissions, ICollection<RuleDiagnostic> diagnostics)
    {
        var files = new List<(string, string)>();
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        if (!TrustedPath.TryOpenDirectory(full, "rules directory", permissions.ExpectedOwnerUid, createMode: null, out int fd, out bool missing, out string reason))
        {
            diagnostics.Add(new RuleDiagnostic(directory, 0, 0, Severity.Error, missing ? DiagnosticCodes.FileUnreadable : DiagnosticCodes.UnsafePermissions,
                missing ? "rules directory does not exist" : reason));
            return files;
        }

        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (!CheckDescriptor(fd, permissions, isDirectory: true, out string? why))
        {
            diagnostics.Add(new RuleDiagnostic(directory, 0, 0, Severity.Error, DiagnosticCodes.UnsafePermissions, why));
            return files;
        }

        // The names come from the descriptor (its /proc magic link is the opened directory itself).
        foreach (string name in RuleSetLoader.RuleFiles("/proc/self/fd/" + fd.ToString(CultureInfo.InvariantCulture)).Select(f => Path.GetFileName(f)))
        {
            string file = Path.Join(directory, name);
            if (TryReadAt(fd, name, permissions, out string text, out string? code, out why))
            {
                files.Add((file, text));
            }
            else
            {
                diagnostics.Add(new RuleDiagnostic(file, 0, 0, Severity.Error, code, why));
            }
        }

        return files;
    }

    private static unsafe bool TryReadAt(int directory, string name, RulePermissions permissions, out string text, out string code, out string why)
    {
        text = "";
        int fd;
        fixed (byte* p = TrustedPath.Utf8(name))
        {
            // O_NONBLOCK: a FIFO planted under a rule name must not hang the reload.
            fd = openat(directory, p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
        }

        if (fd < 0)
        {
            int error = errno;
            code = error == ELOOP ? DiagnosticCodes.UnsafePermissions : DiagnosticCodes.FileUnreadable;
            why = error == ELOOP ? RulePermissions.SymlinkRefused : string.Create(CultureInfo.InvariantCulture, $"cannot open (errno {error})");
            return false;
        }

        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (!CheckDescriptor(fd, permissions, isDirectory: false, out string? refused))
        {
            code = DiagnosticCodes.UnsafePermissions;
            why = refused;
            return false;
        }

        try
        {
            using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 1);
            using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            text = reader.ReadToEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            code = DiagnosticCodes.FileUnreadable;
            why = "cannot read: " + e.Message;
            return false;
        }

        code = "";
        why = "";
        return true;
    }

    private static unsafe bool CheckDescriptor(int fd, RulePermissions permissions, bool isDirectory, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? why)
    {
        stat st;
        if (fstat(fd, &st) != 0)
        {
            why = string.Create(CultureInfo.InvariantCulture, $"cannot stat (errno {errno})");
            return false;
        }

        return permissions.Check((uint)st.st_mode, (uint)st.st_uid, isDirectory, out why);
    }
}
