using KvmUdevAgent.Tests.Support;

namespace KvmUdevAgent.Tests.Regression;

/// <summary>
/// Issue 15: the NativeAOT image imported seven functions from libm, so ld.so loaded libm.so.6 at
/// start and, under BIND_NOW, ran its IFUNC resolvers: 0.4-0.5 MiB of the idle daemon's RSS.
/// src/KvmUdevAgent/Native/libm-on-demand.c now provides them (floor and ceil computed there, pow,
/// sin, cos and log forwarded to libm loaded at their first call) and the link drops -lm.
/// </summary>
public sealed class Issue15_LibmOnDemandTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Issue15_LibmOnDemand_AgreesWithLibmAndLoadsItOnlyWhenForwarding()
    {
        string work = Directory.CreateTempSubdirectory("kua-libm-").FullName;
        try
        {
            string check = Path.Combine(work, "check");
            // -fno-builtin: gcc would otherwise fuse the check's sin and cos calls into one sincos.
            ProcessRunner.Result build = await ProcessRunner.RunAsync("gcc",
                ["-O2", "-fno-builtin", "-Wall", "-Wextra", "-Werror", "-o", check,
                 Path.Combine(RepoPaths.Root, "tests/KvmUdevAgent.Tests/Regression/Issue15_LibmOnDemandCheck.c"),
                 Path.Combine(RepoPaths.Root, "src/KvmUdevAgent/Native/libm-on-demand.c")], timeout: s_timeout);
            Assert.True(build.ExitCode == 0, build.ToString());

            ProcessRunner.Result run = await ProcessRunner.RunAsync(check, [], timeout: s_timeout);
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Contains("values checked, 0 disagreements", run.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Issue15_NativeAotBinary_DoesNotNeedLibm()
    {
        string binary = Environment.GetEnvironmentVariable("KUA_AOT_BINARY") is { Length: > 0 } aot
            ? aot
            : throw new InvalidOperationException("this checks the NativeAOT binary: run ./test.sh (it exports KUA_AOT_BINARY), or publish one and set KUA_AOT_BINARY=/path/to/kvm-udev-agent");

        ProcessRunner.Result dynamic = await ProcessRunner.RunAsync("readelf", ["--dynamic", "--wide", binary], timeout: s_timeout);
        Assert.True(dynamic.ExitCode == 0, dynamic.ToString());
        string[] needed = [.. dynamic.Stdout.Split('\n').Where(l => l.Contains("(NEEDED)", StringComparison.Ordinal))];
        Assert.Contains(needed, l => l.Contains("[libc.so.6]", StringComparison.Ordinal));
        Assert.DoesNotContain(needed, l => l.Contains("libm.so", StringComparison.Ordinal));
        // The hardening stays: full RELRO (BIND_NOW) and PIE.
        Assert.Contains(dynamic.Stdout.Split('\n'), l => l.Contains("(FLAGS_1)", StringComparison.Ordinal) && l.Contains("NOW", StringComparison.Ordinal) && l.Contains("PIE", StringComparison.Ordinal));
    }
}
