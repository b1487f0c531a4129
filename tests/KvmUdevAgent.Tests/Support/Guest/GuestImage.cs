using System.Security.Cryptography;
using System.Text;

namespace KvmUdevAgent.Tests.Support.Guest;

/// <summary>
/// The tiny Linux guest of the in-guest tests (issue 13): Debian's kernel (booted uncompressed,
/// through PVH) and an initramfs of <c>busybox-static</c>, the USB, SCSI disk and ext4 modules and
/// <see cref="GuestInit.Script"/>. Built at test time from the packages apt would install
/// (<c>apt-get download</c>, <c>dpkg -x</c>) and cached outside the repository in
/// <see cref="CacheRoot"/>, one directory per package versions and init script, so a kernel update
/// builds a new one. A build goes to a temp directory renamed into place, so test processes that
/// build at once never see half an image.
/// </summary>
internal sealed record GuestImage(string Kernel, string Initrd, string Key)
{
    public const string CacheRoot = "/var/cache/kvm-udev-agent-tests/guest";
    private const string KernelMetaPackage = "linux-image-amd64";
    private const string BusyboxPackage = "busybox-static";

    /// <summary>What the guest needs: xHCI, usb-storage, SCSI disks and ext4 (plus the checksums ext4 and sd ask the crypto API for).</summary>
    private static readonly string[] s_modules = ["crc32c_generic", "crct10dif_generic", "xhci_pci", "usb_storage", "sd_mod", "ext4"];
    private static readonly SemaphoreSlim s_lock = new(1, 1);
    private static GuestImage? s_image;

    /// <summary>The image, built on first use in this process (or found in the cache).</summary>
    public static async Task<GuestImage> GetAsync()
    {
        await s_lock.WaitAsync();
        try
        {
            return s_image ??= await FindOrBuildAsync();
        }
        finally
        {
            s_lock.Release();
        }
    }

    private static async Task<GuestImage> FindOrBuildAsync()
    {
        var (kernelPackage, kernelVersion) = await CandidateAsync(KernelMetaPackage, dependency: true);
        var (_, busyboxVersion) = await CandidateAsync(BusyboxPackage, dependency: false);
        string inputs = string.Join('\n', kernelPackage, kernelVersion, busyboxVersion, string.Join(',', s_modules), GuestInit.Script);
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(inputs)))[..12];
        string key = $"{kernelPackage}_{kernelVersion}_busybox_{busyboxVersion}_{hash}".Replace(':', '%');
        string dir = Path.Combine(CacheRoot, key);
        var image = new GuestImage(Path.Combine(dir, "kernel"), Path.Combine(dir, "initrd.cpio"), key);
        if (File.Exists(image.Kernel) && File.Exists(image.Initrd))
        {
            return image;
        }

        Directory.CreateDirectory(CacheRoot);
        string temp = Path.Combine(CacheRoot, ".build-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(temp);
        try
        {
            await BuildAsync(temp, kernelPackage + "=" + kernelVersion, BusyboxPackage + "=" + busyboxVersion);
            try
            {
                Directory.Move(Path.Combine(temp, "image"), dir);
            }
            catch (IOException) when (File.Exists(image.Initrd))
            {
                // Another test process built the same image first; theirs is as good.
            }

            return image;
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>
    /// The candidate version apt would install (for the kernel meta package: the image package it
    /// depends on, and that one's version). Without package lists apt knows no package at all.
    /// </summary>
    private static async Task<(string Package, string Version)> CandidateAsync(string package, bool dependency)
    {
        GuestTool.Result show = await GuestTool.RunAsync("apt-cache", "apt", ["show", "--no-all-versions", package]);
        if (show.ExitCode != 0 || !show.Stdout.Contains("Version:", StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                $"apt-cache does not know the Debian package '{package}' the in-guest tests boot ({show.Stderr.Trim()}); the package lists are missing or stale: run 'apt-get update' as root, then the tests again");
        }

        string Field(string name) => show.Stdout.Split('\n').First(l => l.StartsWith(name + ": ", StringComparison.Ordinal))[(name.Length + 2)..].Trim();
        if (!dependency)
        {
            return (package, Field("Version"));
        }

        // "Depends: linux-image-6.1.0-57-amd64 (= 6.1.192-3)"
        string depends = Field("Depends").Split(',')[0].Trim();
        int paren = depends.IndexOf(" (= ", StringComparison.Ordinal);
        if (paren < 0)
        {
            throw new InvalidOperationException($"{package} does not pin its kernel image package: '{depends}'");
        }

        return (depends[..paren], depends[(paren + 4)..].TrimEnd(')'));
    }

    private static async Task BuildAsync(string temp, string kernelSpec, string busyboxSpec)
    {
        string debs = Directory.CreateDirectory(Path.Combine(temp, "debs")).FullName;
        // As root apt would hand the download to its sandbox user, who cannot write here.
        GuestTool.Result download = await GuestTool.RunAsync("apt-get", "apt", ["-q", "-o", "APT::Sandbox::User=root", "download", kernelSpec, busyboxSpec], debs, TimeSpan.FromMinutes(10));
        if (download.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"apt-get download {kernelSpec} {busyboxSpec} failed ({download.Stderr.Trim()}); the in-guest tests need the Debian mirror: check the network, run 'apt-get update' as root, then the tests again");
        }

        string root = Directory.CreateDirectory(Path.Combine(temp, "root")).FullName;
        foreach (string deb in Directory.GetFiles(debs, "*.deb"))
        {
            await GuestTool.RunCheckedAsync("dpkg", "dpkg", ["-x", deb, root]);
        }

        string image = Directory.CreateDirectory(Path.Combine(temp, "image")).FullName;
        string vmlinuz = Directory.GetFiles(Path.Combine(root, "boot"), "vmlinuz-*").Single();
        await WriteKernelAsync(vmlinuz, Path.Combine(image, "kernel"), temp);

        string modulesDir = Directory.GetDirectories(Path.Combine(root, "lib", "modules")).Single();
        var builtin = File.ReadAllLines(Path.Combine(modulesDir, "modules.builtin"))
            .Select(l => KernelModules.Normalize(Path.GetFileNameWithoutExtension(l)))
            .ToHashSet(StringComparer.Ordinal);
        IReadOnlyList<string> modules = new KernelModules(Path.Combine(modulesDir, "kernel")).LoadOrder(s_modules, builtin);

        await using FileStream initrd = File.Create(Path.Combine(image, "initrd.cpio"));
        using (var cpio = new NewcArchive(initrd))
        {
            foreach (string d in (string[])["bin", "dev", "proc", "sys", "mnt", "run", "modules"])
            {
                cpio.AddDirectory(d);
            }

            cpio.AddFile("bin/busybox", await File.ReadAllBytesAsync(Path.Combine(root, "bin", "busybox")), executable: true);
            var names = new List<string>();
            foreach (string module in modules)
            {
                names.Add("/modules/" + Path.GetFileName(module));
                cpio.AddFile(names[^1][1..], await File.ReadAllBytesAsync(module));
            }

            cpio.AddFile("init", Encoding.ASCII.GetBytes(GuestInit.Script.Replace(GuestInit.ModulesPlaceholder, string.Join(' ', names), StringComparison.Ordinal)), executable: true);
        }
    }

    /// <summary>
    /// The ELF vmlinux out of the bzImage when it has the PVH note; else the bzImage itself (slower
    /// under TCG: seconds of unpacking in the guest).
    /// </summary>
    private static async Task WriteKernelAsync(string vmlinuz, string target, string temp)
    {
        byte[] bzImage = await File.ReadAllBytesAsync(vmlinuz);
        string compressed = Path.Combine(temp, "vmlinux.xz");
        await File.WriteAllBytesAsync(compressed, KernelImage.Payload(bzImage).ToArray());
        // Debian compresses its x86 kernels with xz; --single-stream ignores the size word after the stream.
        await GuestTool.RunCheckedAsync("xz", "xz-utils", ["-d", "--single-stream", compressed]);
        string vmlinux = Path.Combine(temp, "vmlinux");
        if (KernelImage.HasPvhNote(vmlinux))
        {
            File.Move(vmlinux, target);
        }
        else
        {
            File.Copy(vmlinuz, target);
        }
    }
}
