using System.Globalization;
using System.Text;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// The ids the agent gives QEMU devices. They all start with <c>kua-</c> so the agent can tell its
/// own devices from the VM's, and they are derived from the device, so a repeated attach finds the
/// same id already present (idempotence) and a reconcile can compare ids without bookkeeping.
/// <list type="bullet">
/// <item><c>usb-host</c>: a readable form, <c>kua-u{bus}-{port}-{vid}{pid}</c>, e.g.
/// <c>kua-u2-1.4-058f6387</c>. Bus and port tell two identical drives apart; vid:pid makes a
/// different device plugged into the same port a different id. At most 38 characters.</item>
/// <item>block devices: <c>kua-b</c> + 12 hex digits of SHA-256 over the model, read-only flag,
/// device node and the caller's identity key (e.g. vendor:product:serial). Serials and labels are
/// hostile and unbounded, so they only ever enter a hash. The block node is the id + <c>-n</c>
/// (19 characters: QEMU limits node names to 31).</item>
/// </list>
/// QEMU ids must match <c>[A-Za-z][A-Za-z0-9_.-]*</c>; every id made here does, and so passes
/// <see cref="HmpLine"/>'s allow-list.
/// </summary>
internal static class QemuDeviceId
{
    public const string Prefix = "kua-";
    public const string UsbHostPrefix = "kua-u";
    public const string BlockPrefix = "kua-b";
    public const string NodeSuffix = "-n";
    public const int MaxLength = 63;

    public static string ForUsbHost(int bus, string portPath, Devices.UsbId vendor, Devices.UsbId product) =>
        string.Create(CultureInfo.InvariantCulture, $"{UsbHostPrefix}{bus}-{portPath}-{vendor}{product}");

    public static string ForBlock(BlockDeviceModel model, bool readOnly, string devNode, string? identityKey)
    {
        string key = string.Create(CultureInfo.InvariantCulture, $"{model}\n{readOnly}\n{devNode}\n{identityKey}");
        Span<byte> hash = stackalloc byte[Sha256.HashSize];
        Sha256.HashData(Encoding.UTF8.GetBytes(key), hash);
        return BlockPrefix + Convert.ToHexStringLower(hash[..6]);
    }

    /// <summary>The block node (QMP <c>blockdev-add</c> node-name, HMP <c>drive_add</c> id) of a block device id.</summary>
    public static string NodeOf(string deviceId) => deviceId + NodeSuffix;

    public static bool IsBlock(string id) => id.StartsWith(BlockPrefix, StringComparison.Ordinal);

    /// <summary>True for an id the agent could have made: <c>kua-</c> prefix and QEMU's id charset.</summary>
    public static bool IsAgentId(string? id)
    {
        if (id is null || id.Length > MaxLength || !id.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (char c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
