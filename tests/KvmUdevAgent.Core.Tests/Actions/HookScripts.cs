namespace KvmUdevAgent.Core.Tests.Actions;

/// <summary>Hook scripts written by the tests into their own temp directory (mode 0755).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class HookScripts : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("kua-hook-").FullName;

    public string Write(string name, string body, UnixFileMode mode = (UnixFileMode)0x1ed /* 0755 */)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, body.ReplaceLineEndings("\n"));
        File.SetUnixFileMode(path, mode);
        return path;
    }

    public string PathOf(string name) => Path.Combine(Directory, name);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
