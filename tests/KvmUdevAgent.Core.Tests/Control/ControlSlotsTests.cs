using KvmUdevAgent.Core.Control;

namespace KvmUdevAgent.Core.Tests.Control;

public sealed class ControlSlotsTests
{
    [Fact]
    public void TryTake_OtherUsersFillAllButOne_RootGetsTheLast()
    {
        ControlSlots slots = new(max: 3, perUid: 2);
        Assert.True(slots.TryTake(1000, out _));
        Assert.True(slots.TryTake(1001, out _));

        Assert.False(slots.TryTake(1002, out string refusal));
        Assert.Equal("too many clients are connected to the daemon; try again", refusal);
        Assert.True(slots.TryTake(0, out _));
        Assert.False(slots.TryTake(0, out _));
    }

    [Fact]
    public void TryTake_OneUidAtItsLimit_RefusedWhileOthersAreServed()
    {
        ControlSlots slots = new(max: 16, perUid: 2);
        Assert.True(slots.TryTake(65534, out _));
        Assert.True(slots.TryTake(65534, out _));

        Assert.False(slots.TryTake(65534, out string refusal));
        Assert.Equal("uid 65534 has 2 connections to the daemon open already, the most one user may have; close one and try again", refusal);
        Assert.True(slots.TryTake(1000, out _));
        Assert.True(slots.TryTake(0, out _));
        Assert.True(slots.TryTake(0, out _));
        Assert.True(slots.TryTake(0, out _));
    }

    [Fact]
    public void Release_FreesTheSlotForTheSameUid()
    {
        ControlSlots slots = new(max: 16, perUid: 1);
        Assert.True(slots.TryTake(65534, out _));
        Assert.False(slots.TryTake(65534, out _));

        slots.Release(65534);

        Assert.Equal(0, slots.Taken);
        Assert.True(slots.TryTake(65534, out _));
    }
}
