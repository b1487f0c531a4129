using System.Text.Json;
using KvmUdevAgent.Core.Qemu;

namespace KvmUdevAgent.Core.Tests.Qemu;

public sealed class QmpEventBufferTests
{
    private static QmpEvent Event(int n) => new("E" + n, default(JsonElement));

    [Fact]
    public void Add_MoreBytesThanTheBound_OldestDroppedAndCounted()
    {
        QmpEventBuffer buffer = new();
        const int Size = 100 * 1024;
        for (int i = 0; i < 20; i++)
        {
            buffer.Add(Event(i), Size);
        }

        int kept = QmpEventBuffer.MaxBytes / Size;
        Assert.Equal(kept, buffer.Count);
        Assert.Equal((20L - kept, (20L - kept) * Size), (buffer.Dropped, buffer.DroppedBytes));
        Assert.True(buffer.TryRead(out QmpEvent? oldest));
        Assert.Equal("E" + (20 - kept), oldest.Name);
    }

    [Fact]
    public void Add_MoreEventsThanTheBound_NewestKept()
    {
        QmpEventBuffer buffer = new();
        for (int i = 0; i < QmpEventBuffer.MaxEvents + 10; i++)
        {
            buffer.Add(Event(i), 100);
        }

        Assert.Equal(QmpEventBuffer.MaxEvents, buffer.Count);
        Assert.Equal(10, buffer.Dropped);
        Assert.True(buffer.TryRead(out QmpEvent? oldest));
        Assert.Equal("E10", oldest.Name);
    }

    [Fact]
    public void Add_EventLargerThanTheBound_DroppedAtOnceOthersKept()
    {
        QmpEventBuffer buffer = new();
        buffer.Add(Event(1), 100);

        buffer.Add(Event(2), QmpEventBuffer.MaxBytes + 1);

        Assert.Equal(1, buffer.Count);
        Assert.Equal((1L, QmpEventBuffer.MaxBytes + 1L), (buffer.Dropped, buffer.DroppedBytes));
    }

    [Fact]
    public async Task ReadAsync_WhatIsReadFreesRoom_NothingDropped()
    {
        QmpEventBuffer buffer = new();
        const int Size = 512 * 1024;
        for (int i = 0; i < 10; i++)
        {
            buffer.Add(Event(i), Size);
            Assert.Equal("E" + i, (await buffer.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5))).Name);
        }

        buffer.Complete();
        Assert.Equal(0, buffer.Dropped);
        await buffer.Completion.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
