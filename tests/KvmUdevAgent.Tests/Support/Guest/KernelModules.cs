using System.Text;

namespace KvmUdevAgent.Tests.Support.Guest;

/// <summary>
/// The modules of an unpacked kernel package (<c>lib/modules/VERSION/kernel</c>). Debian's package
/// ships no modules.dep (depmod runs at install), so the dependencies are read from each module's
/// own <c>.modinfo</c> (<c>depends=a,b</c>), as depmod does.
/// </summary>
internal sealed class KernelModules
{
    private readonly Dictionary<string, string> _files = new(StringComparer.Ordinal);

    public KernelModules(string modulesDir)
    {
        foreach (string file in Directory.EnumerateFiles(modulesDir, "*.ko", SearchOption.AllDirectories))
        {
            _files[Normalize(Path.GetFileNameWithoutExtension(file))] = file;
        }
    }

    /// <summary>
    /// The files to load, in an order that loads every dependency first. A name the package does
    /// not have as a module is built in (modules.builtin) or missing; missing ones fail here.
    /// </summary>
    public IReadOnlyList<string> LoadOrder(IEnumerable<string> names, IReadOnlySet<string> builtin)
    {
        var order = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string name in names)
        {
            Visit(Normalize(name), order, seen, builtin);
        }

        return order;
    }

    /// <summary>Module names are spelt with '-' or '_' interchangeably (the kernel treats them alike).</summary>
    public static string Normalize(string name) => name.Replace('-', '_');

    private void Visit(string name, List<string> order, HashSet<string> seen, IReadOnlySet<string> builtin)
    {
        if (!seen.Add(name))
        {
            return;
        }

        if (!_files.TryGetValue(name, out string? file))
        {
            if (builtin.Contains(name))
            {
                return;
            }

            throw new InvalidOperationException($"the kernel package has no module '{name}' (neither a .ko nor built in)");
        }

        foreach (string dependency in Depends(File.ReadAllBytes(file)))
        {
            Visit(Normalize(dependency), order, seen, builtin);
        }

        order.Add(file);
    }

    /// <summary>
    /// The <c>depends=</c> string of a module. .modinfo holds NUL-terminated <c>key=value</c>
    /// strings; "\0depends=" occurs nowhere else in a module (modpost writes it once).
    /// </summary>
    private static string[] Depends(byte[] module)
    {
        ReadOnlySpan<byte> key = "\0depends="u8;
        int at = module.AsSpan().IndexOf(key);
        if (at < 0)
        {
            return [];
        }

        ReadOnlySpan<byte> rest = module.AsSpan(at + key.Length);
        string value = Encoding.ASCII.GetString(rest[..rest.IndexOf((byte)0)]);
        return value.Split(',', StringSplitOptions.RemoveEmptyEntries);
    }
}
