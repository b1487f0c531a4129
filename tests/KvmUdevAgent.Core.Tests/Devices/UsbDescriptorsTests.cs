using CsCheck;
using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.Tests.Devices;

/// <summary>
/// The walk of a <c>descriptors</c> attribute: real layouts give udev's ID_USB_INTERFACES (written by
/// hand in the data files), and damaged ones stop with a reason, keep what came before, and never crash.
/// </summary>
public sealed class UsbDescriptorsTests
{
    public static TheoryData<string> Layouts => [.. DescriptorData.Names];

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Parse_RealLayout_GivesTheHandWrittenInterfaceList(string name)
    {
        var (bytes, expected) = DescriptorData.Load(name);

        UsbInterfaceList result = UsbDescriptors.Parse(bytes);

        Assert.Null(result.Problem);
        Assert.Equal(expected, UsbDescriptors.ToUdevString(result.Interfaces));
    }

    [Fact]
    public void Parse_Truncated_ReportsAndKeepsAPrefix()
    {
        var gen = from layout in Gen.Int[0, s_layouts.Length - 1]
                  from cut in Gen.Int[0, s_layouts[layout].Bytes.Length - 1]
                  select (layout, cut);

        gen.Sample(t =>
        {
            byte[] full = s_layouts[t.layout].Bytes;
            UsbInterfaceList whole = UsbDescriptors.Parse(full);
            UsbInterfaceList cut = UsbDescriptors.Parse(full.AsSpan(0, t.cut));
            return cut.Problem is not null && whole.Interfaces.Take(cut.Interfaces.Length).SequenceEqual(cut.Interfaces);
        }, iter: 5_000);
    }

    private static readonly (byte[] Bytes, string Expected)[] s_layouts = [.. DescriptorData.Names.Select(DescriptorData.Load)];

    /// <summary>A copy of one real layout, and one of its descriptors after the device descriptor.</summary>
    private static readonly Gen<(byte[] Blob, int Offset, int ConfigEnd)> s_anyDescriptor =
        from layout in Gen.Int[0, s_layouts.Length - 1]
        from which in Gen.Int[0, DescriptorData.Offsets(s_layouts[layout].Bytes).Count - 1]
        let blob = (byte[])s_layouts[layout].Bytes.Clone()
        let at = DescriptorData.Offsets(blob)[which]
        select (blob, at.Offset, at.ConfigEnd);

    [Fact]
    public void Parse_ZeroOrTinyBLength_Reports()
    {
        Gen.Select(s_anyDescriptor, Gen.Byte[0, 2]).Sample((d, length) =>
        {
            d.Blob[d.Offset] = length;
            return UsbDescriptors.Parse(d.Blob).Problem is { } problem && problem.Contains($"has bLength {length}", StringComparison.Ordinal);
        }, iter: 2_000);
    }

    [Fact]
    public void Parse_BLengthPastItsConfigurationOrTheEnd_Reports()
    {
        Gen.Select(s_anyDescriptor, Gen.Int[1, 255]).Sample((d, extra) =>
        {
            var (blob, offset, configEnd) = d;
            bool isConfig = blob[offset + 1] == 0x02;
            if (isConfig)
            {
                // A configuration that announces more than the file holds.
                int total = blob.Length - offset + extra;
                blob[offset + 2] = (byte)total;
                blob[offset + 3] = (byte)(total >> 8);
            }
            else
            {
                int length = configEnd - offset + extra;
                if (length > 255)
                {
                    return true;
                }

                blob[offset] = (byte)length;
            }

            return UsbDescriptors.Parse(blob).Problem is not null;
        }, iter: 2_000);
    }

    [Fact]
    public void Parse_64KiBOfJunk_NeverThrowsAndReports()
    {
        Gen.Byte.Array[65536].Sample(junk => UsbDescriptors.Parse(junk).Problem is not null, iter: 50);
        // Junk behind a valid device descriptor gets further into the walk.
        var (flash, _) = DescriptorData.Load("flash-drive");
        Gen.Byte.Array[0, 65536 - 18].Sample(junk => UsbDescriptors.Parse([.. flash.AsSpan(0, 18), .. junk]).Problem is not null, iter: 200);
    }

    [Fact]
    public void Parse_FewerConfigurationsThanCounted_Reports()
    {
        var (blob, _) = DescriptorData.Load("two-configurations");
        int secondConfig = DescriptorData.Offsets(blob).Last(o => blob[o.Offset + 1] == 0x02).Offset;

        UsbInterfaceList result = UsbDescriptors.Parse(blob.AsSpan(0, secondConfig));

        Assert.Equal("1 of the 2 configurations the device descriptor counts (truncated)", result.Problem);
        Assert.Equal(["01:01:00", "01:02:00", "03:00:00"], result.Interfaces.ToArray());
    }

    [Fact]
    public void Parse_CompositeCutAfterItsStorageInterface_DoesNotPassAsAFlashDrive()
    {
        // Cut at a descriptor boundary, so every bLength still fits: only wTotalLength tells.
        var (blob, _) = DescriptorData.Load("composite-flash-keyboard");

        UsbInterfaceList result = UsbDescriptors.Parse(blob.AsSpan(0, 18 + 9 + 9 + 7 + 7));

        Assert.Equal(["08:06:50"], result.Interfaces.ToArray());
        Assert.Equal("configuration 1 at offset 18 has wTotalLength 57, only 32 bytes left (truncated)", result.Problem);
    }

    [Fact]
    public void Read_FileLargerThanTheKernelGives_ReportsAndBoundsTheRead()
    {
        string path = Path.Combine(Path.GetTempPath(), $"kua-descriptors-{Guid.NewGuid():N}");
        try
        {
            var (flash, _) = DescriptorData.Load("flash-drive");
            File.WriteAllBytes(path, [.. flash, .. new byte[UsbDescriptors.MaxBytes]]);

            UsbInterfaceList? result = UsbDescriptors.Read(path);

            Assert.NotNull(result);
            Assert.Equal(["08:06:50"], result.Interfaces.ToArray());
            Assert.Equal("descriptors is larger than 65553 bytes, more than the kernel ever gives; read only that much", result.Problem);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Read_MissingFile_IsNull() =>
        Assert.Null(UsbDescriptors.Read(Path.Combine(Path.GetTempPath(), $"kua-no-such-{Guid.NewGuid():N}")));
}
