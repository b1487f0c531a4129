using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace KvmUdevAgent.Core.Devices;

/// <summary>
/// Asks util-linux <c>blkid</c> what is on a block device, for events that did not come through
/// systemd-udevd (which runs the same library and sends ID_FS_*). Runs
/// <c>blkid -p -o udev -- /dev/NODE</c> with an argument vector (never a shell), bounded in time and
/// output. The <c>udev</c> output format is used rather than <c>export</c> because its
/// <c>ID_FS_LABEL_ENC</c> escapes every unsafe byte as <c>\xNN</c>, which reverses exactly, while
/// <c>export</c> prints non-printables as <c>M-</c>/<c>^</c> sequences that a label can also contain literally.
/// </summary>
internal sealed class BlkidProbe
{
    // blkid's udev output is a handful of short lines; more than this is not blkid talking.
    private const int MaxOutputChars = 64 * 1024;
    private static readonly string[] s_searchPath = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

    private readonly bool _inProcess;

    /// <param name="blkidPath">
    /// The blkid program to run. When null, libblkid is used in-process and the program found on
    /// the usual paths only if the library cannot be loaded; a path given here is always run.
    /// </param>
    /// <param name="timeout">How long one probe may take. Default 5 s.</param>
    public BlkidProbe(string? blkidPath = null, TimeSpan? timeout = null)
    {
        _inProcess = blkidPath is null;
        BlkidPath = blkidPath ?? Find() ?? "/usr/sbin/blkid";
        Timeout = timeout ?? TimeSpan.FromSeconds(5);
    }

    public string BlkidPath { get; }

    public TimeSpan Timeout { get; }

    /// <summary>Probes <paramref name="devNode"/>, which must be a simple path under /dev naming a block device. Never throws but for cancellation.</summary>
    public async Task<BlkidResult> ProbeAsync(string devNode, CancellationToken cancellationToken)
    {
        if (!DeviceNode.TryNormalize(devNode, out string? node, out string? reason) || node != devNode)
        {
            return new BlkidResult(BlkidStatus.Failed, Error: reason ?? "device node must be absolute");
        }

        if (!DeviceNode.IsBlockDevice(node))
        {
            return new BlkidResult(BlkidStatus.Failed, Error: "not a block device");
        }

        if (_inProcess)
        {
            // A dying device can block the read; the caller's wait is bounded, the probe runs aside.
            Task<BlkidResult?> probe = Task.Run(() => LibBlkid.TryProbe(node), CancellationToken.None);
            try
            {
                if (await probe.WaitAsync(Timeout, cancellationToken).ConfigureAwait(false) is { } found)
                {
                    return found;
                }
            }
            catch (TimeoutException)
            {
                return new BlkidResult(BlkidStatus.Failed, Error: $"libblkid did not answer within {Timeout.TotalSeconds:0.#} s");
            }
        }

        var psi = new ProcessStartInfo(BlkidPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-p");
        psi.ArgumentList.Add("-o");
        psi.ArgumentList.Add("udev");
        psi.ArgumentList.Add("--");
        psi.ArgumentList.Add(node);
        psi.Environment["LC_ALL"] = "C";

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("blkid did not start");
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException)
        {
            return new BlkidResult(BlkidStatus.Failed, Error: $"cannot run {BlkidPath}: {e.Message}");
        }

        using (process)
        {
            process.StandardInput.Close();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            try
            {
                Task<string> stdout = ReadBoundedAsync(process.StandardOutput, timeout.Token);
                Task<string> stderr = ReadBoundedAsync(process.StandardError, timeout.Token);
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                string output = await stdout.ConfigureAwait(false);
                string error = await stderr.ConfigureAwait(false);
                return process.ExitCode switch
                {
                    0 => Parse(output),
                    2 => BlkidResult.NothingFound,
                    int code => new BlkidResult(BlkidStatus.Failed, Error: $"blkid exited {code}: {error.Trim()}"),
                };
            }
            catch (OperationCanceledException)
            {
                Kill(process);
                cancellationToken.ThrowIfCancellationRequested();
                return new BlkidResult(BlkidStatus.Failed, Error: $"blkid did not answer within {Timeout.TotalSeconds:0.#} s");
            }
        }
    }

    /// <summary>Reads blkid's <c>-o udev</c> lines; <c>*_ENC</c> values win over their "safe" twins.</summary>
    public static BlkidResult Parse(string output)
    {
        string? label = null, labelEnc = null, uuid = null, uuidEnc = null, type = null;
        foreach (var line in output.AsSpan().EnumerateLines())
        {
            int eq = line.IndexOf('=');
            if (eq <= 0)
            {
                continue;
            }

            ReadOnlySpan<char> key = line[..eq];
            string value = line[(eq + 1)..].ToString();
            switch (key)
            {
                case "ID_FS_LABEL": label = value; break;
                case "ID_FS_LABEL_ENC": labelEnc = value; break;
                case "ID_FS_UUID": uuid = value; break;
                case "ID_FS_UUID_ENC": uuidEnc = value; break;
                case "ID_FS_TYPE": type = value; break;
                default: break;
            }
        }

        label = labelEnc is not null ? UdevEncoding.Decode(labelEnc) : label;
        uuid = uuidEnc is not null ? UdevEncoding.Decode(uuidEnc) : uuid;
        return label is null && uuid is null && type is null
            ? BlkidResult.NothingFound
            : new BlkidResult(BlkidStatus.Found, label, uuid, type);
    }

    private static async Task<string> ReadBoundedAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        var sb = new StringBuilder();
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (sb.Length < MaxOutputChars)
            {
                sb.Append(buffer, 0, Math.Min(read, MaxOutputChars - sb.Length));
            }
        }

        return sb.ToString();
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private static string? Find()
    {
        foreach (string dir in s_searchPath)
        {
            string candidate = Path.Join(dir, "blkid");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
