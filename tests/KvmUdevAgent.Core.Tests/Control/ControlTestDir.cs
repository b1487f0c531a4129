namespace KvmUdevAgent.Core.Tests.Control;

/// <summary>A temp directory that other users may traverse (0711), so a peer running as nobody can reach a socket in it.</summary>
internal sealed class ControlTestDir : IDisposable
{
    public ControlTestDir()
    {
        Path = Directory.CreateTempSubdirectory("kua-ctl-").FullName;
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
    }

    public string Path { get; }

    public string Socket => System.IO.Path.Combine(Path, "agent.sock");

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
