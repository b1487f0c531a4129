using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;
using KvmUdevAgent.Core.State;

namespace KvmUdevAgent.Core.Tests.State;

[SupportedOSPlatform("linux")]
public sealed class StateStoreTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task OpenAsync_MissingFileAndDirectory_EmptyStateAndDirectoryMode0700()
    {
        using var dir = StateTestData.CreateTempDir();
        string path = Path.Combine(dir.Path, "lib", "state.json");

        await using StateStore store = await StateStore.OpenAsync(path);

        Assert.Equal(StateLoadOutcome.Missing, store.LoadResult.Outcome);
        Assert.Empty(store.Snapshot.Attachments);
        Assert.Empty(store.Snapshot.Mounts);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task OpenAsync_DirectoryAtTheFilePath_ThrowsIOExceptionAndLeavesItAlone()
    {
        using var dir = StateTestData.CreateTempDir();
        string path = Path.Combine(dir.Path, "state.json");
        Directory.CreateDirectory(path);

        IOException error = await Assert.ThrowsAsync<IOException>(() => StateStore.OpenAsync(path).WaitAsync(s_timeout));

        Assert.Contains("Could not read the state file", error.Message, StringComparison.Ordinal);
        Assert.True(Directory.Exists(path));
    }

    [Fact]
    public async Task FlushAsync_AfterChanges_FileRoundTripsAndIsVersioned()
    {
        using var dir = StateTestData.CreateTempDir();
        string path = Path.Combine(dir.Path, "state.json");
        await using (StateStore store = await StateStore.OpenAsync(path))
        {
            store.SetAttachment(StateTestData.Attachment(1, "we\"ird\n\u0001serial"));
            store.SetMount(StateTestData.Mount("USB"));
            await store.FlushAsync().WaitAsync(s_timeout);
        }

        using (JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path)))
        {
            Assert.Equal(1, doc.RootElement.GetProperty("version").GetInt32());
            JsonElement attachment = doc.RootElement.GetProperty("attachments")[0];
            Assert.Equal("usb-host", attachment.GetProperty("kind").GetString());
            Assert.Equal("kua-00000001", attachment.GetProperty("qemu_id").GetString());
            Assert.Equal("058f", attachment.GetProperty("device").GetProperty("vendor").GetString());
            Assert.Equal("1.4", attachment.GetProperty("device").GetProperty("port_path").GetString());
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        await using StateStore reopened = await StateStore.OpenAsync(path);
        Assert.Equal(StateLoadOutcome.Loaded, reopened.LoadResult.Outcome);
        AttachmentRecord expected = StateTestData.Attachment(1, "we\"ird\n\u0001serial");
        AttachmentRecord actual = Assert.Single(reopened.Snapshot.Attachments);
        Assert.Equal(expected.Device, actual.Device);
        Assert.Equal(expected, actual);
        Assert.Equal(StateTestData.Mount("USB"), Assert.Single(reopened.Snapshot.Mounts));
    }

    [Fact]
    public async Task SetAttachment_SameVmAndQemuId_ReplacesRecord()
    {
        using var dir = StateTestData.CreateTempDir();
        await using StateStore store = await StateStore.OpenAsync(Path.Combine(dir.Path, "state.json"));

        store.SetAttachment(StateTestData.Attachment(1));
        store.SetAttachment(StateTestData.Attachment(1) with { Kind = AttachmentKind.UsbStorage });
        store.SetAttachment(StateTestData.Attachment(2));

        Assert.Equal([AttachmentKind.UsbStorage, AttachmentKind.UsbHost], store.Snapshot.Attachments.Select(a => a.Kind));
        Assert.True(store.RemoveAttachment("winxp", "kua-00000001"));
        Assert.False(store.RemoveAttachment("winxp", "kua-00000001"));
        Assert.Single(store.Snapshot.Attachments);
        Assert.True(store.RemoveMount("/nowhere") is false);
    }

    [Fact]
    public async Task SetAttachment_FromManyThreads_NoChangeLost()
    {
        using var dir = StateTestData.CreateTempDir();
        string path = Path.Combine(dir.Path, "state.json");
        await using (StateStore store = await StateStore.OpenAsync(path))
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
            {
                for (int i = 0; i < 100; i++)
                {
                    store.SetAttachment(StateTestData.Attachment((t * 1000) + i));
                }
            }))).WaitAsync(s_timeout);
            Assert.Equal(800, store.Snapshot.Attachments.Length);
        }

        // DisposeAsync wrote the last changes.
        Assert.True(StateFile.TryParse(File.ReadAllBytes(path), out AgentState onDisk, out _));
        Assert.Equal(800, onDisk.Attachments.Select(a => a.QemuId).Distinct().Count());
    }

    [Fact]
    public async Task OpenAsync_CorruptFile_MovedAsideAndEmptyState()
    {
        using var dir = StateTestData.CreateTempDir();
        string path = Path.Combine(dir.Path, "state.json");
        File.WriteAllText(path, "{\"version\":1,\"attachments\":[{\"vm\":");

        await using StateStore store = await StateStore.OpenAsync(path, timeProvider: new FixedTime(new DateTimeOffset(2026, 11, 26, 7, 1, 2, TimeSpan.Zero)));

        Assert.Equal(StateLoadOutcome.Corrupt, store.LoadResult.Outcome);
        Assert.Equal(path + ".corrupt-20261126T070102Z", store.LoadResult.MovedTo);
        Assert.NotNull(store.LoadResult.Reason);
        Assert.Equal("{\"version\":1,\"attachments\":[{\"vm\":", File.ReadAllText(path + ".corrupt-20261126T070102Z"));
        Assert.False(File.Exists(path));
        Assert.Empty(store.Snapshot.Attachments);
    }

    [Theory]
    [InlineData("{\"version\":2,\"attachments\":[],\"mounts\":[]}", "unsupported version 2")]
    [InlineData("{\"version\":1,\"attachments\":null,\"mounts\":[]}", "$.attachments")]
    [InlineData("null", "JSON null")]
    [InlineData("{\"version\":1,\"attachments\":[{\"device\":{\"dev_path\":\"/d\",\"vendor\":\"58f\"},\"vm\":\"v\",\"qemu_id\":\"kua-1\",\"kind\":\"usb-host\",\"since\":\"2026-11-26T00:00:00Z\"}],\"mounts\":[]}", "invalid USB id")]
    [InlineData("{\"version\":1,\"attachments\":[{\"device\":{\"dev_path\":\"/d\"},\"vm\":\"v\",\"qemu_id\":\"kua-1\",\"kind\":\"usb-tape\",\"since\":\"2026-11-26T00:00:00Z\"}],\"mounts\":[]}", "")]
    [InlineData("{\"version\":1,\"attachments\":[{\"device\":{\"dev_path\":\"/d\"},\"qemu_id\":\"kua-1\",\"kind\":\"usb-host\",\"since\":\"2026-11-26T00:00:00Z\"}],\"mounts\":[]}", "vm")]
    public void TryParse_InvalidContent_RejectsWithReason(string json, string reasonPart)
    {
        Assert.False(StateFile.TryParse(Encoding.UTF8.GetBytes(json), out AgentState state, out string reason));
        Assert.Contains(reasonPart, reason, StringComparison.Ordinal);
        Assert.Same(AgentState.Empty, state);
    }

    [Fact]
    public async Task OpenAsync_LeftoverTempFile_Removed()
    {
        using var dir = StateTestData.CreateTempDir();
        string path = Path.Combine(dir.Path, "state.json");
        string temp = Path.Combine(dir.Path, ".state.json.tmp-1234-abcd");
        File.WriteAllText(temp, "{\"vers");

        await using StateStore store = await StateStore.OpenAsync(path);

        Assert.False(File.Exists(temp));
    }

    [Fact]
    public async Task Update_ManyWritesWhileReading_ReadersSeeOnlyCompleteFiles()
    {
        using var dir = StateTestData.CreateTempDir();
        string path = Path.Combine(dir.Path, "state.json");
        await using StateStore store = await StateStore.OpenAsync(path);
        store.SetMount(StateTestData.Mount("first"));
        await store.FlushAsync().WaitAsync(s_timeout);

        using CancellationTokenSource stop = new();
        int reads = 0;
        Task<string?> reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                byte[] content = File.ReadAllBytes(path);
                if (!StateFile.TryParse(content, out _, out string reason))
                {
                    return reason + ": " + Encoding.UTF8.GetString(content);
                }

                reads++;
            }

            return null;
        });

        for (int i = 0; i < 300; i++)
        {
            store.SetAttachment(StateTestData.Attachment(i));
            if (i % 10 == 0)
            {
                await store.FlushAsync().WaitAsync(s_timeout);
            }
        }

        await store.FlushAsync().WaitAsync(s_timeout);
        await stop.CancelAsync();
        Assert.Null(await reader.WaitAsync(s_timeout));
        Assert.True(reads > 0);
        Assert.True(StateFile.TryParse(File.ReadAllBytes(path), out AgentState onDisk, out _));
        Assert.Equal(300, onDisk.Attachments.Length);
        Assert.Empty(Directory.GetFiles(dir.Path, ".state.json.tmp-*"));
    }

    [Fact]
    public async Task FlushAsync_DiskFull_FailsCleanlyKeepsOldFileAndRetries()
    {
        await using TinyTmpfs fs = await TinyTmpfs.MountAsync("size=64k");
        string path = Path.Combine(fs.Path, "state.json");
        await using StateStore store = await StateStore.OpenAsync(path);
        store.SetAttachment(StateTestData.Attachment(1));
        await store.FlushAsync().WaitAsync(s_timeout);
        byte[] before = File.ReadAllBytes(path);

        string filler = Path.Combine(fs.Path, "filler");
        await TinyTmpfs.FillAsync(filler);
        for (int i = 2; i < 50; i++)
        {
            store.SetAttachment(StateTestData.Attachment(i));
        }

        StateWriteException error = await Assert.ThrowsAsync<StateWriteException>(() => store.FlushAsync().WaitAsync(s_timeout));
        Assert.Contains("No space left on device", error.Message, StringComparison.Ordinal);
        Assert.Contains("the previous file is kept", error.Message, StringComparison.Ordinal);
        // The store's own retry may have replaced the error object by now; what counts is that it
        // still reports the same failure.
        Assert.Contains("No space left on device", store.LastWriteError?.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(49, store.Snapshot.Attachments.Length);
        Assert.Equal(["filler", "state.json"], Directory.GetFileSystemEntries(fs.Path).Select(Path.GetFileName).Order());

        File.Delete(filler);
        await store.FlushAsync().WaitAsync(s_timeout);
        Assert.Null(store.LastWriteError);
        Assert.True(StateFile.TryParse(File.ReadAllBytes(path), out AgentState onDisk, out _));
        Assert.Equal(49, onDisk.Attachments.Length);
    }

    [Fact]
    public async Task FlushAsync_ReadOnlyFileSystem_FailsCleanlyKeepsOldFile()
    {
        await using TinyTmpfs fs = await TinyTmpfs.MountAsync("size=64k");
        string path = Path.Combine(fs.Path, "state.json");
        await using StateStore store = await StateStore.OpenAsync(path);
        store.SetMount(StateTestData.Mount("a"));
        await store.FlushAsync().WaitAsync(s_timeout);
        byte[] before = File.ReadAllBytes(path);

        await fs.RemountAsync("remount,ro");
        store.SetMount(StateTestData.Mount("b"));

        StateWriteException error = await Assert.ThrowsAsync<StateWriteException>(() => store.FlushAsync().WaitAsync(s_timeout));
        Assert.Contains("Read-only file system", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(2, store.Snapshot.Mounts.Length);
        await fs.RemountAsync("remount,rw");
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
