using CsCheck;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Events;

public sealed class UeventParserPropertyTests
{
    private static readonly byte[] s_udev = UdevMessageWriter.Write("ACTION=add", "DEVPATH=/devices/pci0000:00/usb2/2-1", "SUBSYSTEM=usb", "DEVTYPE=usb_device", "ID_SERIAL_SHORT=576B63C4", "SEQNUM=9");
    private static readonly byte[] s_kernel = KernelMessageWriter.Write([new("ACTION", "add"), new("DEVPATH", "/devices/virtual/block/loop0"), new("SUBSYSTEM", "block"), new("SEQNUM", "9")]);

    private static void Check(byte[] datagram)
    {
        foreach (UeventSource source in new[] { UeventSource.Kernel, UeventSource.Udev, UeventSource.Replay })
        {
            bool ok = UeventParser.TryParse(datagram, source, 0, out Uevent? e, out RejectReason reason);
            if (ok)
            {
                Assert.Equal(RejectReason.None, reason);
                Assert.NotEmpty(e!.ActionText);
                Assert.NotEmpty(e.DevPath);
                Assert.NotEmpty(e.Subsystem);
            }
            else
            {
                Assert.Null(e);
                Assert.True(Enum.IsDefined(reason) && reason != RejectReason.None);
            }
        }
    }

    [Fact]
    public void TryParse_RandomBytes_NeverThrows_RejectsWithReason()
    {
        Gen.Byte.Array[0, 300].Sample(Check, iter: 10_000);
    }

    [Fact]
    public void TryParse_MutatedValidMessages_NeverThrow_RejectWithReason()
    {
        // Flip, truncate and overwrite bytes of valid messages in both formats, including header fields.
        Gen.Select(Gen.Bool, Gen.Int[0, 8], Gen.Int[0, 1000].Array[1, 6], Gen.Byte.Array[1, 6])
            .Sample((udev, cut, positions, values) =>
            {
                byte[] original = udev ? s_udev : s_kernel;
                byte[] d = original[..Math.Max(0, original.Length - cut)];
                for (int i = 0; i < positions.Length && d.Length > 0; i++)
                {
                    d[positions[i] % d.Length] = values[i % values.Length];
                }

                Check(d);
            }, iter: 10_000);
    }

    [Fact]
    public void TryParse_NoTrailingNul_AlwaysRejected()
    {
        Gen.Byte.Array[32, 300].Where(d => d[^1] != 0).Sample(d =>
        {
            Assert.False(UeventParser.TryParse(d, UeventSource.Replay, 0, out _, out RejectReason reason));
            Assert.Equal(RejectReason.NotNulTerminated, reason);
        }, iter: 10_000);
    }
}
