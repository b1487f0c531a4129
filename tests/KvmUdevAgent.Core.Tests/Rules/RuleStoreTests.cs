using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Tests.Rules;

public sealed class RuleStoreTests : IDisposable
{
    private const string Good = "rules:\n  - name: a\n    match: { subsystem: usb }\n    hook: { run: [/bin/true] }\n";
    private const string Better = "rules:\n  - name: a\n    match: { subsystem: usb }\n    hook: { run: [/bin/true] }\n  - name: b\n    match: { subsystem: block }\n    hook: { run: [/bin/true] }\n";
    private const string Broken = "rules:\n  - name: a\n    match: { subsytem: usb }\n    hook: { run: [/bin/true] }\n";
    private readonly string _dir = Directory.CreateTempSubdirectory("kua-rules-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private RuleStore NewStore() => new(_dir, RuleCorpus.KnownVms, new RulePermissions(RulePermissions.CurrentUid));

    private void Write(string text) => File.WriteAllText(Path.Combine(_dir, "10-a.yaml"), text);

    [Fact]
    public void Reload_BrokenEdit_KeepsPreviousSetThenFixLoadsNew()
    {
        Write(Good);
        using RuleStore store = NewStore();
        Assert.True(store.Load().Succeeded);
        RuleSet first = store.Current;

        Write(Broken);
        RuleReloadResult failed = store.Reload();

        Assert.False(failed.Succeeded);
        Assert.Same(first, store.Current);
        Assert.Equal(1, failed.ActiveGeneration);
        Assert.Equal(2, failed.AttemptedGeneration);
        Assert.Equal("KUR011", Assert.Single(failed.Diagnostics).Code);

        Write(Better);
        RuleReloadResult fixedResult = store.Reload();

        Assert.True(fixedResult.Succeeded);
        Assert.Equal(3, store.Current.Generation);
        Assert.Equal(2, store.Current.Rules.Count);
    }

    [Fact]
    public void Load_FirstLoadBroken_Fails()
    {
        Write(Broken);
        using RuleStore store = NewStore();

        Assert.False(store.Load().Succeeded);
        Assert.Same(RuleSet.Empty, store.Current);
    }

    [Fact]
    public async Task Watch_FileChanged_ReloadsAfterDebounce()
    {
        Write(Good);
        using RuleStore store = NewStore();
        store.Load();
        var reloaded = new TaskCompletionSource<RuleReloadResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        store.Reloaded += r => reloaded.TrySetResult(r);
        store.StartWatching(TimeSpan.FromMilliseconds(50));

        Write(Better);
        RuleReloadResult result = await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(result.Succeeded);
        Assert.Equal(2, store.Current.Rules.Count);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Rejects_GroupWritableFile_SayingWhy()
    {
        Write(Good);
        File.SetUnixFileMode(Path.Combine(_dir, "10-a.yaml"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.GroupRead);
        using RuleStore store = NewStore();

        RuleDiagnostic d = Assert.Single(store.Load().Diagnostics);

        Assert.Equal(DiagnosticCodes.UnsafePermissions, d.Code);
        Assert.Equal("is writable by its group (mode 660); hooks run as root, so nobody but root may write rule files (chmod go-w it)", d.Message);
    }

    [Fact]
    public void Rejects_FileOwnedBySomeoneElse_SayingWhy()
    {
        Write(Good);
        var permissions = new RulePermissions(RulePermissions.CurrentUid + 4242);

        Assert.False(permissions.Check(Path.Combine(_dir, "10-a.yaml"), isDirectory: false, out string? why));
        Assert.StartsWith($"is owned by uid {RulePermissions.CurrentUid}, not uid {RulePermissions.CurrentUid + 4242}", why, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_Symlink()
    {
        Write(Good);
        File.CreateSymbolicLink(Path.Combine(_dir, "20-link.yaml"), Path.Combine(_dir, "10-a.yaml"));
        using RuleStore store = NewStore();

        RuleReloadResult result = store.Load();

        Assert.False(result.Succeeded);
        Assert.Contains(result.Diagnostics, d => d.Code == DiagnosticCodes.UnsafePermissions && d.File.EndsWith("20-link.yaml", StringComparison.Ordinal));
    }
}
