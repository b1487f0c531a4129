using System.Globalization;

namespace KvmUdevAgent.Core.Tests.Devices;

/// <summary>
/// The descriptor layouts in <c>tests/Data/descriptors/*.hex</c>: hex bytes, <c>#</c> comments, and
/// one <c># expect: :ccsspp:...:</c> line with the ID_USB_INTERFACES string written by hand from them.
/// </summary>
internal static class DescriptorData
{
    public static IEnumerable<string> Names =>
        Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "Data", "descriptors"), "*.hex").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!;

    public static (byte[] Bytes, string Expected) Load(string name)
    {
        var bytes = new List<byte>();
        string? expected = null;
        foreach (string line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Data", "descriptors", name + ".hex")))
        {
            if (line.StartsWith("# expect: ", StringComparison.Ordinal))
            {
                expected = line["# expect: ".Length..].Trim();
            }
            else if (!line.StartsWith('#'))
            {
                bytes.AddRange(line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(b => byte.Parse(b, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)));
            }
        }

        return ([.. bytes], expected ?? throw new InvalidDataException($"{name}.hex has no '# expect:' line"));
    }

    /// <summary>Offsets of every descriptor after the device descriptor, with the end of the configuration each belongs to.</summary>
    public static IReadOnlyList<(int Offset, int ConfigEnd)> Offsets(byte[] blob)
    {
        var list = new List<(int, int)>();
        int pos = 18;
        while (pos < blob.Length)
        {
            int end = pos + (blob[pos + 2] | (blob[pos + 3] << 8));
            for (int p = pos; p < end; p += blob[p])
            {
                list.Add((p, end));
            }

            pos = end;
        }

        return list;
    }
}
