using System.Diagnostics;

namespace KvmUdevAgent.Core.Tests.Control;

/// <summary>
/// One open connection from another process under another identity (<see cref="PeerProcess.Open"/>):
/// lines written go to the socket, answers are read line by line, and the process ends when the
/// server closes the connection. Disposal kills it by PID if it still runs.
/// </summary>
internal sealed class PeerSession : IDisposable
{
    private readonly Process _process;

    public PeerSession(Process process)
    {
        _process = process;
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Writes one line; false if the process has already gone (the server closed the connection).</summary>
    public async Task<bool> TryWriteLineAsync(string line)
    {
        try
        {
            await _process.StandardInput.WriteAsync(line + "\n");
            await _process.StandardInput.FlushAsync();
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The next answer line; null when the connection closed first.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan timeout) =>
        await _process.StandardOutput.ReadLineAsync().WaitAsync(timeout);

    /// <summary>True once the process has exited, false if it still runs after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }
}
