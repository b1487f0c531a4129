using System.Text;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

public sealed class Sha256Tests
{
    [Fact]
    public void HashData_Abc_IsTheFipsVector()
    {
        byte[] hash = new byte[Sha256.HashSize];
        Sha256.HashData("abc"u8, hash);
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Convert.ToHexStringLower(hash));
    }

    [Fact]
    public void HashData_EveryLengthAroundTheBlockEdges_EqualsTheBcl()
    {
        var random = new Random(15);
        for (int length = 0; length <= 300; length++)
        {
            byte[] data = new byte[length];
            random.NextBytes(data);
            byte[] hash = new byte[Sha256.HashSize];
            Sha256.HashData(data, hash);
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(data), hash);
        }
    }

    [Fact]
    public void Append_InPiecesThenReused_EqualsOneShotEachTime()
    {
        byte[] data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("rules/50-mount-flash.yaml\0ok\0", 40)));
        var sha = new Sha256();
        for (int round = 0; round < 2; round++)
        {
            foreach (int piece in (int[])[1, 7, 63, 64, 65, 200])
            {
                for (int i = 0; i < data.Length; i += piece)
                {
                    sha.Append(data.AsSpan(i, Math.Min(piece, data.Length - i)));
                }

                Assert.Equal(System.Security.Cryptography.SHA256.HashData(data), sha.GetHashAndReset());
            }
        }
    }

    [Fact]
    public void ForBlock_IdIsTheFirstSixBytesOfSha256_SameAsBeforeIssue15()
    {
        // Devices attached by an earlier version carry ids made with the BCL's SHA-256: a reconcile
        // must recognise them, so the id of a given drive may never change.
        string key = "UsbStorage\nTrue\n/dev/sdb\n058f:6387:576B63C4";
        string expected = "kua-b" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(key))[..6]);
        Assert.Equal(expected, QemuDeviceId.ForBlock(BlockDeviceModel.UsbStorage, true, "/dev/sdb", "058f:6387:576B63C4"));
    }
}
