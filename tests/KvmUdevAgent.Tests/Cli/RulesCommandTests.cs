using System.Text.Json;
using KvmUdevAgent.Cli;
using KvmUdevAgent.Core.Tests.Devices;

namespace KvmUdevAgent.Tests.Cli;

/// <summary>Golden-file tests of the rules verbs and <c>test</c>; KUA_UPDATE_GOLDEN=1 rewrites the files.</summary>
public sealed class RulesCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kua-cli-rules-").FullName;
    private readonly StringWriter _out = new() { NewLine = "\n" };
    private readonly StringWriter _err = new() { NewLine = "\n" };

    public RulesCommandTests()
    {
        // The three examples/ files (their copies in the good corpus).
        foreach (string file in Directory.EnumerateFiles(DataDir("rules", "good"), "?0-*.yaml").Where(f => Path.GetFileName(f)[0] is '1' or '2' or '3'))
        {
            File.Copy(file, Path.Combine(_dir, Path.GetFileName(file)));
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string DataDir(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "Data", .. parts]);

    private void AssertGolden(string name, string actual)
    {
        actual = actual.Replace(_dir, "<rules>", StringComparison.Ordinal);
        string path = DataDir("cli", name);
        if (Environment.GetEnvironmentVariable("KUA_UPDATE_GOLDEN") == "1")
        {
            // Write to the source tree, not the copy in bin/.
            string source = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "Data", "cli", name));
            File.WriteAllText(source, actual);
            return;
        }

        Assert.Equal(File.ReadAllText(path), actual);
    }

    [Fact]
    public void List_Examples_MatchesGolden()
    {
        Assert.Equal(0, RulesListCommand.Invoke(_dir, json: false, _out, _err));
        AssertGolden("rules-list.txt", _out.ToString());
    }

    [Fact]
    public void List_Json_MatchesGolden()
    {
        Assert.Equal(0, RulesListCommand.Invoke(_dir, json: true, _out, _err));
        AssertGolden("rules-list.json", _out.ToString());
        using var document = JsonDocument.Parse(_out.ToString());
        Assert.Equal(4, document.RootElement.GetArrayLength());
    }

    [Fact]
    public void Show_Rule_MatchesGoldenAndRoundTrips()
    {
        Assert.Equal(0, RulesShowCommand.Invoke(_dir, "mount-other-flash", _out, _err));
        AssertGolden("rules-show.txt", _out.ToString());

        File.WriteAllText(Path.Combine(_dir, "shown.yaml"), _out.ToString());
        var check = new KvmUdevAgent.Core.Rules.RuleSetLoader(null, null).LoadFiles([Path.Combine(_dir, "shown.yaml")], 1);
        Assert.True(check.Succeeded);
    }

    [Fact]
    public void Show_UnknownRule_SuggestsName()
    {
        Assert.Equal(ExitCodes.NoInput, RulesShowCommand.Invoke(_dir, "flash-to-winpx", _out, _err));
        Assert.Equal("kvm-udev-agent: no rule named 'flash-to-winpx'; did you mean 'flash-to-winxp'?\n", _err.ToString());
    }

    [Fact]
    public void Validate_CleanDirectory_ExitsZero()
    {
        Assert.Equal(0, RulesValidateCommand.Invoke([], _dir, strict: true, json: false, _out, _err));
        Assert.Equal("3 file(s), 4 rule(s): 0 error(s), 0 warning(s), 0 style note(s)\n", _out.ToString());
    }

    [Fact]
    public void Validate_BadFile_ExitsOneAndPrintsPositions()
    {
        string bad = DataDir("rules", "bad", "many-errors-one-pass.yaml");
        Assert.Equal(ExitCodes.Failure, RulesValidateCommand.Invoke([bad], _dir, strict: false, json: false, _out, _err));
        AssertGolden("rules-validate-bad.txt", _out.ToString().Replace(DataDir("rules", "bad"), "<bad>", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_WarningsOnly_ExitsTwoWithStrictAndZeroWithout()
    {
        string warn = DataDir("rules", "bad", "no-action-warning.yaml");
        Assert.Equal(0, RulesValidateCommand.Invoke([warn], _dir, strict: false, json: false, _out, _err));
        Assert.Equal(ExitCodes.Warnings, RulesValidateCommand.Invoke([warn], _dir, strict: true, json: false, _out, _err));
    }

    [Fact]
    public void Disable_ThenEnable_EditsOnlyThatRule()
    {
        string file = Path.Combine(_dir, "20-mount-known-drives.yaml");
        string before = File.ReadAllText(file);

        Assert.Equal(0, RulesEnableCommand.Invoke(_dir, "mount-other-flash", enable: false, _out, _err));
        string disabled = File.ReadAllText(file);
        Assert.Equal(before.Replace("  - name: mount-other-flash\n", "  - name: mount-other-flash\n    enabled: false\n", StringComparison.Ordinal), disabled);

        Assert.Equal(0, RulesEnableCommand.Invoke(_dir, "mount-other-flash", enable: true, _out, _err));
        Assert.Equal(disabled.Replace("enabled: false", "enabled: true", StringComparison.Ordinal), File.ReadAllText(file));
    }

    [Fact]
    public void Remove_Rule_KeepsCommentsAndOtherRule()
    {
        string file = Path.Combine(_dir, "20-mount-known-drives.yaml");

        Assert.Equal(0, RulesRemoveCommand.Invoke(_dir, "mount-other-flash", _out, _err));

        AssertGolden("rules-remove-result.yaml", File.ReadAllText(file));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Add_ValidFile_InstallsRootOwned0644()
    {
        string source = Path.Combine(Path.GetTempPath(), $"kua-add-{Environment.ProcessId}.yaml");
        File.WriteAllText(source, "rules:\n  - name: extra\n    match: { subsystem: block, fs_label: \"EXTRA\" }\n    hook: { run: [/bin/true] }\n");
        try
        {
            Assert.Equal(0, RulesAddCommand.Invoke(_dir, source, "50-extra", TextReader.Null, _out, _err));

            string installed = Path.Combine(_dir, "50-extra.yaml");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(installed));
            Assert.True(new KvmUdevAgent.Core.Rules.RulePermissions(0).Check(installed, isDirectory: false, out string? why), why);
        }
        finally
        {
            File.Delete(source);
        }
    }

    [Fact]
    public void Add_DuplicateName_RefusedAndNothingInstalled()
    {
        var stdin = new StringReader("rules:\n  - name: tell-me\n    match: { subsystem: block }\n    hook: { run: [/bin/true] }\n");

        Assert.Equal(ExitCodes.Failure, RulesAddCommand.Invoke(_dir, "-", "60-dup", stdin, _out, _err));

        Assert.False(File.Exists(Path.Combine(_dir, "60-dup.yaml")));
        Assert.Contains("duplicate rule name 'tell-me'", _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Test_DevpathOfSeedDrive_MatchesGolden()
    {
        using var sysfs = new SysfsFixture();
        var drive = sysfs.AddSeedFlashDrive();

        int code = TestCommand.Invoke(new TestOptions("/sys" + drive.UsbDevice.DevPath, "add", null, _dir, sysfs.Root, false), _out, _err);

        Assert.True(code == 0, _err.ToString());
        AssertGolden("test-devpath-seed.txt", _out.ToString().Replace(sysfs.Root, "<sysfs>", StringComparison.Ordinal));
    }

    [Fact]
    public void Test_ReplayOfRecordedPlugAndUnplug_MatchesGolden()
    {
        using var sysfs = new SysfsFixture();
        var drive = sysfs.AddSeedFlashDrive();
        string record = Path.Combine(_dir, "..", $"kua-record-{Environment.ProcessId}.jsonl");
        // Written exactly as 'monitor --record' writes it.
        using (var writer = KvmUdevAgent.Core.Events.UeventRecordWriter.Create(record))
        {
            foreach (var (node, action) in new[] { (drive.UsbDevice, "add"), (drive.Partition!, "add"), (drive.Partition!, "remove"), (drive.UsbDevice, "remove") })
            {
                writer.Write(sysfs.UdevEvent(node, action));
            }
        }

        try
        {
            // A replay has no sysfs: the identity comes from the recorded udev properties alone.
            int code = TestCommand.Invoke(new TestOptions(null, "add", record, _dir, "/nonexistent-sysfs", false), _out, _err);

            Assert.True(code == 0, _err.ToString());
            AssertGolden("test-replay-seed.txt", _out.ToString());
        }
        finally
        {
            File.Delete(record);
        }
    }

    [Fact]
    public void Test_NeitherDevpathNorReplay_IsUsageError()
    {
        Assert.Equal(ExitCodes.Usage, TestCommand.Invoke(new TestOptions(null, "add", null, _dir, "/sys", false), _out, _err));
        Assert.StartsWith("kvm-udev-agent: give exactly one of --devpath PATH or --replay FILE", _err.ToString(), StringComparison.Ordinal);
    }
}
