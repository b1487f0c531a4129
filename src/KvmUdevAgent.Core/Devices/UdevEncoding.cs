using System.Buffers;
using System.Globalization;
using System.Text;

namespace KvmUdevAgent.Core.Devices;

/// <summary>
/// Reverses udev's and blkid's <c>*_ENC</c> encoding (<c>ID_FS_LABEL_ENC</c>, <c>ID_VENDOR_ENC</c>, ...):
/// every byte outside a small safe set is written as <c>\xNN</c>, including the backslash itself,
/// so the encoding is reversible, unlike the "safe" <c>ID_FS_LABEL</c> (spaces become <c>_</c>) or
/// <c>blkid -o export</c> (non-printables become an ambiguous <c>M-</c>/<c>^</c> notation).
/// </summary>
internal static class UdevEncoding
{
    /// <summary>Decodes <c>\xNN</c> escapes to bytes and the result as UTF-8 (invalid sequences become U+FFFD).</summary>
    public static string Decode(string encoded)
    {
        if (!encoded.Contains("\\x", StringComparison.Ordinal))
        {
            return encoded;
        }

        byte[] rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(encoded.Length));
        try
        {
            int n = 0;
            ReadOnlySpan<char> rest = encoded;
            while (!rest.IsEmpty)
            {
                if (rest.Length >= 4 && rest[0] == '\\' && rest[1] == 'x' &&
                    byte.TryParse(rest.Slice(2, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
                {
                    rented[n++] = b;
                    rest = rest[4..];
                    continue;
                }

                int next = rest[1..].IndexOf('\\');
                ReadOnlySpan<char> plain = next < 0 ? rest : rest[..(next + 1)];
                n += Encoding.UTF8.GetBytes(plain, rented.AsSpan(n));
                rest = rest[plain.Length..];
            }

            return Encoding.UTF8.GetString(rented, 0, n);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
