using System.Text;
using KvmUdevAgent.Core.Control;

namespace KvmUdevAgent.Core.Tests.Control;

public sealed class ControlLineReaderTests
{
    [Fact]
    public async Task ReadLineAsync_MixedEndings_SplitsLinesAndReturnsUnterminatedLast()
    {
        ControlLineReader reader = new(new MemoryStream("one\r\ntwo\n\nthree"u8.ToArray()), 16);

        List<string> lines = [];
        while (await reader.ReadLineAsync(CancellationToken.None) is { } line)
        {
            lines.Add(Encoding.UTF8.GetString(line.Span));
        }

        Assert.Equal(["one", "two", "", "three"], lines);
    }

    [Fact]
    public async Task ReadLineAsync_LineAtBound_Accepted()
    {
        ControlLineReader reader = new(new OneByteStream(Encoding.ASCII.GetBytes(new string('x', 5000) + "\nok\n")), 5000);

        Assert.Equal(5000, (await reader.ReadLineAsync(CancellationToken.None))!.Value.Length);
        Assert.Equal("ok", Encoding.ASCII.GetString((await reader.ReadLineAsync(CancellationToken.None))!.Value.Span));
        Assert.Null(await reader.ReadLineAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ReadLineAsync_LineOverBoundWithoutNewline_Throws()
    {
        ControlLineReader reader = new(new MemoryStream(Encoding.ASCII.GetBytes(new string('x', 100_000))), 1000);

        await Assert.ThrowsAsync<ControlLineTooLongException>(async () => await reader.ReadLineAsync(CancellationToken.None));
    }

    /// <summary>Returns one byte per read, to exercise buffer growth and compaction.</summary>
    private sealed class OneByteStream(byte[] data) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(1, buffer.Length)], cancellationToken);
    }
}
