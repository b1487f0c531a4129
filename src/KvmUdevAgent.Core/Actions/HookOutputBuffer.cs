using System.Buffers;
using System.Text;

namespace KvmUdevAgent.Core.Actions;

/// <summary>Keeps the first <c>limit</c> bytes of a stream and counts the rest.</summary>
internal sealed class HookOutputBuffer(int limit)
{
    private readonly ArrayBufferWriter<byte> _kept = new();

    public long TotalBytes { get; private set; }

    /// <summary>Set when bytes were dropped, or when collection stopped before end of file.</summary>
    public bool Truncated { get; private set; }

    public void Append(ReadOnlySpan<byte> data)
    {
        TotalBytes += data.Length;
        var room = Math.Max(0, limit - _kept.WrittenCount);
        if (data.Length > room)
        {
            Truncated = true;
            data = data[..room];
        }
        _kept.Write(data);
    }

    public void MarkCut() => Truncated = true;

    /// <summary>UTF-8, invalid sequences (including one cut at the limit) as U+FFFD.</summary>
    public string ToText() => Encoding.UTF8.GetString(_kept.WrittenSpan);
}
