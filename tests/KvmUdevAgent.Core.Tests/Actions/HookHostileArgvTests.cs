using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Text;
using CsCheck;
using KvmUdevAgent.Core.Actions;
using KvmUdevAgent.Core.Tests.Devices;

namespace KvmUdevAgent.Core.Tests.Actions;

/// <summary>
/// Issue 7, hostile device strings at the exec boundary: a real hook process receives each
/// generated argument and <c>KUA_*</c> value as exactly one argv element / variable, byte for byte
/// (written back NUL-separated by the hook itself), and no shell ever sees them.
/// </summary>
public sealed class HookHostileArgvTests : IDisposable
{
    // MAX_ARG_STRLEN: 32 pages.
    private const int MaxArgStrlen = 32 * 4096;

    private readonly HookScripts _scripts = new();

    [Fact]
    public async Task RunAsync_HostileArguments_HookReceivesEachVerbatim()
    {
        string record = _scripts.Write("record.sh", "#!/bin/sh\nout=$1\nshift\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$out.argv\"\nprintf '%s\\0' \"$KUA_SERIAL\" \"$KUA_LABEL\" > \"$out.env\"\n");
        var cases = new ConcurrentQueue<string[]>();
        HostileStrings.Any.Array[1, 4].Sample(cases.Enqueue, iter: 60, threads: 1);
        var runner = new HookRunner();
        int n = 0;
        foreach (string[] args in cases)
        {
            string output = Path.Combine(_scripts.Directory, "out" + n++);
            HookResult result = await runner.RunAsync(new HookRequest
            {
                Argv = [record, output, .. args],
                Environment = ImmutableDictionary<string, string>.Empty.Add("KUA_SERIAL", args[0]).Add("KUA_LABEL", args[^1]),
                Timeout = TimeSpan.FromSeconds(20),
            }, CancellationToken.None);
            if (args.Any(a => Encoding.UTF8.GetByteCount(a) + "KUA_SERIAL=".Length >= MaxArgStrlen))
            {
                // Linux refuses a single argument or variable of 128 KiB or more (E2BIG): the hook
                // does not run, and says why; nothing else happens.
                Assert.Equal(HookOutcome.NotStarted, result.Outcome);
                Assert.Contains("errno 7", result.Error, StringComparison.Ordinal);
                Assert.False(File.Exists(output + ".argv"));
                continue;
            }

            Assert.True(result.Succeeded, $"hook failed: {result.Outcome} {result.ExitCode} {result.Error} {result.Stderr}");
            Assert.Equal(args, Split(await File.ReadAllBytesAsync(output + ".argv")));
            Assert.Equal([args[0], args[^1]], Split(await File.ReadAllBytesAsync(output + ".env")));
        }

        Assert.False(File.Exists("/tmp/kua-pwned"), "a device string reached a shell");
    }

    private static string[] Split(byte[] nulSeparated) =>
        Encoding.UTF8.GetString(nulSeparated).TrimEnd('\0').Split('\0');

    public void Dispose() => _scripts.Dispose();
}
