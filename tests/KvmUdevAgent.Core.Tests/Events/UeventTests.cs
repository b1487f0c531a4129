using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Events;

public sealed class UeventTests
{
    [Fact]
    public void Create_DuplicateKeys_LastWins()
    {
        var e = Uevent.Create(UeventSource.Kernel, [new("ACTION", "add"), new("DEVPATH", "/devices/x"), new("SUBSYSTEM", "block"), new("A", "1"), new("A", "2")]);
        Assert.Equal("2", e.GetString("A"));
        Assert.Equal(UeventAction.Add, e.Action);
        Assert.Equal("x", e.KernelName);
        Assert.Equal(5, e.PropertyCount);
    }

    [Fact]
    public void Create_KeyWithEquals_Throws()
    {
        Assert.Throws<ArgumentException>(() => Uevent.Create(UeventSource.Kernel, [new("A=B", "1")]));
    }
}
