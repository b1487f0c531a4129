using KvmUdevAgent.Core.Devices;

namespace KvmUdevAgent.Core.Tests.Devices;

public sealed class BlkidProbeTests
{
    [Fact]
    public void Parse_UdevFormat_DecodesEncodedValues()
    {
        // What util-linux 2.38 prints for an ext4 label "n\nä\M-" (measured here).
        const string output = "ID_FS_LABEL=n_ä\\M-\nID_FS_LABEL_ENC=n\\x0aä\\x5cM-\nID_FS_UUID=9b70f94e-0bb5\nID_FS_UUID_ENC=9b70f94e-0bb5\nID_FS_VERSION=1.0\nID_FS_TYPE=ext4\nID_FS_USAGE=filesystem\n";

        var r = BlkidProbe.Parse(output);

        Assert.Equal(BlkidStatus.Found, r.Status);
        Assert.Equal("n\nä\\M-", r.Label);
        Assert.Equal("9b70f94e-0bb5", r.Uuid);
        Assert.Equal("ext4", r.Type);
    }

    [Fact]
    public void Parse_Empty_NothingFound()
    {
        Assert.Equal(BlkidStatus.NothingFound, BlkidProbe.Parse(string.Empty).Status);
    }

    [Fact]
    public async Task ProbeAsync_NotADevNode_FailsWithoutRunning()
    {
        var probe = new BlkidProbe("/nonexistent/blkid");

        var relative = await probe.ProbeAsync("sdb1", CancellationToken.None);
        var outside = await probe.ProbeAsync("/etc/passwd", CancellationToken.None);
        var notBlock = await probe.ProbeAsync("/dev/null", CancellationToken.None);

        Assert.Equal(BlkidStatus.Failed, relative.Status);
        Assert.Equal(BlkidStatus.Failed, outside.Status);
        Assert.Equal("not a block device", notBlock.Error);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task ProbeAsync_HangingTool_KilledAfterTimeout()
    {
        string dir = Directory.CreateTempSubdirectory("kua-blkid-").FullName;
        try
        {
            // Stands in for a blkid stuck on a dying device; exec keeps the pid we kill.
            string script = Path.Join(dir, "blkid");
            File.WriteAllText(script, "#!/bin/sh\nexec sleep 60\n");
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            string node = AnyBlockDevice();
            var probe = new BlkidProbe(script, TimeSpan.FromMilliseconds(300));

            var result = await probe.ProbeAsync(node, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));

            Assert.Equal(BlkidStatus.Failed, result.Status);
            Assert.Equal("blkid did not answer within 0.3 s", result.Error);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task ProbeAsync_MissingTool_FailsWithPath()
    {
        var result = await new BlkidProbe("/nonexistent/blkid").ProbeAsync(AnyBlockDevice(), CancellationToken.None);

        Assert.Equal(BlkidStatus.Failed, result.Status);
        Assert.StartsWith("cannot run /nonexistent/blkid: ", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("FLASH")]
    [InlineData("n\nä\\M-\"'$x")]
    [InlineData("../../etc")]
    public async Task ProbeAsync_Library_AgreesWithTheBlkidProgram(string label)
    {
        await using var loop = await Netns.LoopDevice.CreateAsync(ext4Label: label);
        var library = await new BlkidProbe().ProbeAsync(loop.DevicePath, CancellationToken.None);
        var program = await new BlkidProbe(new BlkidProbe().BlkidPath).ProbeAsync(loop.DevicePath, CancellationToken.None);

        Assert.Equal(BlkidStatus.Found, library.Status);
        Assert.Equal(label, library.Label);
        Assert.Equal("ext4", library.Type);
        Assert.Equal(program, library);
    }

    // /dev/loopN nodes exist (as block devices) whether or not anything is attached.
    private static string AnyBlockDevice() =>
        Directory.GetFiles("/dev", "loop*").Order(StringComparer.Ordinal).FirstOrDefault(DeviceNode.IsBlockDevice)
        ?? throw new InvalidOperationException("no /dev/loopN block device; load the loop module (Debian package 'kmod': modprobe loop)");

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a\\x20b", "a b")]
    [InlineData("\\x5cx41", "\\x41")]
    [InlineData("\\xc3\\xa4", "ä")]
    [InlineData("bad\\xff", "bad\uFFFD")]
    [InlineData("trail\\x", "trail\\x")]
    [InlineData("\\xZZ", "\\xZZ")]
    public void UdevEncoding_Decode(string encoded, string expected)
    {
        Assert.Equal(expected, UdevEncoding.Decode(encoded));
    }
}
