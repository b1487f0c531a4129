using System.Text;

namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>Passes everything through and keeps a copy of every byte written, so a test can assert on exactly what reached the monitor.</summary>
public sealed class RecordingStream : Stream
{
    private readonly Stream _inner;
    private readonly MemoryStream _written = new();
    private readonly Lock _lock = new();

    public RecordingStream(Stream inner)
    {
        _inner = inner;
    }

    public byte[] Written
    {
        get
        {
            lock (_lock)
            {
                return _written.ToArray();
            }
        }
    }

    public string WrittenText => Encoding.UTF8.GetString(Written);

    /// <summary>
    /// When set and true for a write, that write fails as a cancelled socket write does before it sends
    /// anything (<see cref="OperationCanceledException"/>, nothing written or recorded).
    /// </summary>
    public Func<ReadOnlyMemory<byte>, bool>? CancelWrite { get; set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count)
    {
        Record(buffer.AsSpan(offset, count));
        _inner.Write(buffer, offset, count);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (CancelWrite?.Invoke(buffer) == true)
        {
            return ValueTask.FromCanceled(new CancellationToken(canceled: true));
        }

        Record(buffer.Span);
        return _inner.WriteAsync(buffer, cancellationToken);
    }

    private void Record(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            _written.Write(data);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            _written.Dispose();
        }

        base.Dispose(disposing);
    }
}
