using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.InteropServices;

namespace KvmUdevAgent.Core.Control;

/// <summary>Resolves the configured control group (<c>control_group</c>) to a gid through NSS (getgrnam_r), so LDAP/sssd groups work too.</summary>
public static partial class ControlGroup
{
    private const int ERANGE = 34;

    /// <summary>Resolves a group name, or a decimal gid, to a gid; false with a one-line reason if there is no such group.</summary>
    public static unsafe bool TryResolve(string nameOrGid, out uint gid, [NotNullWhen(false)] out string? reason)
    {
        ArgumentNullException.ThrowIfNull(nameOrGid);
        gid = 0;
        if (nameOrGid.Length > 0 && nameOrGid.All(char.IsAsciiDigit))
        {
            if (uint.TryParse(nameOrGid, NumberStyles.None, CultureInfo.InvariantCulture, out gid))
            {
                reason = null;
                return true;
            }

            reason = $"gid '{nameOrGid}' is out of range";
            return false;
        }

        if (nameOrGid.Length == 0 || nameOrGid.Contains('\0', StringComparison.Ordinal))
        {
            reason = "the group name is empty or contains NUL";
            return false;
        }

        for (int size = 1024; size <= 1 << 20; size *= 4)
        {
            byte[] buffer = new byte[size];
            Group group;
            Group* result = null;
            int error;
            fixed (byte* b = buffer)
            {
                error = GetGrNamR(nameOrGid, &group, b, (nuint)size, &result);
            }

            if (error == ERANGE)
            {
                continue;
            }

            if (error != 0)
            {
                reason = $"looking up group '{nameOrGid}' failed: {Marshal.GetPInvokeErrorMessage(error)}";
                return false;
            }

            if (result is null)
            {
                reason = $"there is no group '{nameOrGid}'";
                return false;
            }

            gid = group.Gid;
            reason = null;
            return true;
        }

        reason = $"the entry of group '{nameOrGid}' is too large";
        return false;
    }

    [LibraryImport("libc.so.6", EntryPoint = "getgrnam_r", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int GetGrNamR(string name, Group* group, byte* buffer, nuint bufferSize, Group** result);

    [StructLayout(LayoutKind.Sequential)]
    private struct Group
    {
        public nint Name;
        public nint Password;
        public uint Gid;
        public nint Members;
    }
}
