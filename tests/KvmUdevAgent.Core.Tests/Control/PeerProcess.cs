using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;

namespace KvmUdevAgent.Core.Tests.Control;

/// <summary>
/// Talks to a socket from another process under another identity: setpriv(1) drops to the given
/// uid/gid/groups, then socat(1) sends the request lines and prints the answers.
/// </summary>
internal static class PeerProcess
{
    public const uint Nobody = 65534;

    public static async Task<string> SendAsync(string socketPath, uint uid, uint gid, uint[] groups, params string[] requests)
    {
        Process process = Start(socketPath, uid, gid, groups, closeAfterSeconds: 5);
        using (process)
        {
            try
            {
                Task<string> stdout = process.StandardOutput.ReadToEndAsync();
                Task<string> stderr = process.StandardError.ReadToEndAsync();
                try
                {
                    foreach (string request in requests)
                    {
                        await process.StandardInput.WriteAsync(request + "\n");
                    }

                    process.StandardInput.Close();
                }
                catch (IOException)
                {
                    // socat already exited (it could not connect); its exit code and stderr say why.
                }
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
                string error = await stderr;
                if (error.Contains("socat", StringComparison.Ordinal) && error.Contains("No such file", StringComparison.Ordinal) && process.ExitCode == 127)
                {
                    throw new InvalidOperationException("socat is missing: install the Debian package socat");
                }

                if (process.ExitCode != 0)
                {
                    throw new InvalidOperationException($"setpriv/socat exited {process.ExitCode}: {error}");
                }

                return await stdout;
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
        }
    }

    /// <summary>
    /// Connects as <paramref name="uid"/> and keeps the connection open: the test writes lines and
    /// reads answers as it goes. The server closing the connection ends the process.
    /// </summary>
    public static PeerSession Open(string socketPath, uint uid, uint gid, uint[] groups) =>
        new(Start(socketPath, uid, gid, groups, closeAfterSeconds: 1));

    private static Process Start(string socketPath, uint uid, uint gid, uint[] groups, int closeAfterSeconds)
    {
        List<string> args =
        [
            $"--reuid={uid}",
            $"--regid={gid}",
            groups.Length == 0 ? "--clear-groups" : "--groups=" + string.Join(',', groups.Select(g => g.ToString(CultureInfo.InvariantCulture))),
            "socat", "-t", closeAfterSeconds.ToString(CultureInfo.InvariantCulture), "-", "UNIX-CONNECT:" + socketPath,
        ];
        ProcessStartInfo info = new("setpriv", args)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        try
        {
            return Process.Start(info)!;
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException("setpriv is missing: install the Debian package util-linux", ex);
        }
    }
}
