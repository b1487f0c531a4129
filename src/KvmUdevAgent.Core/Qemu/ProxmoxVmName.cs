using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// The name Proxmox VE shows for a VM: the <c>name:</c> line of <c>/etc/pve/qemu-server/VMID.conf</c>,
/// in the current configuration (the part before the first <c>[snapshot]</c> section).
/// </summary>
internal static class ProxmoxVmName
{
    private const int MaxName = 128;

    /// <summary>The name, or null when the VM is not a Proxmox VM, the file is unreadable, or it names none.</summary>
    public static string? Read(VmConfig vm)
    {
        if (vm.ProxmoxConfigFile is not { } file)
        {
            return null;
        }

        try
        {
            foreach (string line in File.ReadLines(file))
            {
                if (line.StartsWith('['))
                {
                    break;
                }

                if (line.StartsWith("name:", StringComparison.Ordinal))
                {
                    string name = line["name:".Length..].Trim();
                    // Proxmox allows a DNS name here; anything else is not printed as is.
                    return name.Length is > 0 and <= MaxName && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_') ? name : null;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }
}
