using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>HMP's migration text as QEMU 7.2 prints it (captured from a real migration).</summary>
public sealed class HmpMigrationTextTests
{
    [Fact]
    public void ParseInfoMigrate_Completed_ReadsStatusAndRam()
    {
        MigrationProgress progress = HmpMigrationText.ParseInfoMigrate(
        [
            "globals:", "store-global-state: on", "Migration status: completed", "total time: 39 ms", "downtime: 3 ms",
            "setup: 1 ms", "transferred ram: 789 kbytes", "throughput: 190.35 mbps", "remaining ram: 0 kbytes", "total ram: 131592 kbytes",
        ]);
        Assert.Equal(new MigrationProgress { Status = "completed", TotalTimeMs = 39, TransferredBytes = 789 * 1024, RemainingBytes = 0, TotalBytes = 131592 * 1024 }, progress);
        Assert.Equal(100, progress.Percent);
    }

    [Fact]
    public void ParseInfoMigrate_Failed_KeepsQemusError()
    {
        MigrationProgress progress = HmpMigrationText.ParseInfoMigrate(["Migration status: failed (Failed to connect socket /tmp/x.sock: No such file or directory)"]);
        Assert.Equal("failed", progress.Status);
        Assert.Equal("Failed to connect socket /tmp/x.sock: No such file or directory", progress.Error);
    }

    [Fact]
    public void ParseInfoMigrate_NoMigrationYet_IsNone() =>
        Assert.Equal("none", HmpMigrationText.ParseInfoMigrate(["globals:", "store-global-state: on"]).Status);

    [Theory]
    [InlineData("VM status: running", "running")]
    [InlineData("VM status: paused (postmigrate)", "postmigrate")]
    [InlineData("VM status: paused (inmigrate)", "inmigrate")]
    [InlineData("VM status: paused", "paused")]
    public void ParseRunState_ReadsTheStateInParentheses(string line, string expected) =>
        Assert.Equal(expected, HmpMigrationText.ParseRunState([line]));

    [Theory]
    [InlineData("running", "none", null)]
    [InlineData("prelaunch", "none", null)]
    [InlineData("paused", "cancelled", null)]
    [InlineData("inmigrate", "none", "its QEMU is in state 'inmigrate' (migrating)")]
    [InlineData("postmigrate", "completed", "its QEMU is in state 'postmigrate' (migrating)")]
    [InlineData("finish-migrate", "device", "its QEMU is in state 'finish-migrate' (migrating)")]
    [InlineData("prelaunch", "active", "a migration is under way (status 'active')")]
    [InlineData("running", "setup", "a migration is under way (status 'setup')")]
    public void VmRunState_Refusal_OnlyWhileMigrating(string runState, string migration, string? expected) =>
        Assert.Equal(expected, new VmRunState(runState, migration).Refusal);
}
