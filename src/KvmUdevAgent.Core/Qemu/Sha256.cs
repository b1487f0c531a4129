using Org.BouncyCastle.Crypto.Digests;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// SHA-256 for the agent's stable block device ids and the rules directory fingerprint, through
/// BouncyCastle's managed <see cref="Sha256Digest"/>. On Linux the BCL's <c>SHA256</c> goes through
/// OpenSSL, and the first call maps libssl and libcrypto into the daemon for good: 3.7 MiB of its idle
/// RSS (issue 15) to hash a few hundred bytes now and then. The ids are a contract (a reconcile finds
/// devices attached by an earlier run), so the output is exactly SHA-256's; the tests compare it with
/// the BCL's.
/// </summary>
internal sealed class Sha256
{
    public const int HashSize = 32;

    private readonly Sha256Digest _digest = new();

    /// <summary>The SHA-256 of <paramref name="data"/> into <paramref name="destination"/> (32 bytes).</summary>
    public static void HashData(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        var sha = new Sha256();
        sha.Append(data);
        sha.GetHashAndReset(destination);
    }

    public void Append(ReadOnlySpan<byte> data) => _digest.BlockUpdate(data);

    public byte[] GetHashAndReset()
    {
        byte[] hash = new byte[HashSize];
        GetHashAndReset(hash);
        return hash;
    }

    /// <summary>Writes the hash of everything appended since the last reset, then starts over.</summary>
    public void GetHashAndReset(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, HashSize);
        _digest.DoFinal(destination);
    }
}
