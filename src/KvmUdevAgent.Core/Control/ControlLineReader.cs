namespace KvmUdevAgent.Core.Control;

/// <summary>Reads newline-terminated lines from a stream without ever buffering more than a bound.</summary>
internal sealed class ControlLineReader(Stream stream, int maxLineBytes)
{
    private byte[] _buffer = new byte[Math.Min(4096, maxLineBytes + 1)];
    private int _start;
    private int _end;

    /// <summary>
    /// The next line without its <c>\n</c> (and a trailing <c>\r</c>), valid until the next call;
    /// null at end of stream. An unterminated last line is returned as a line.
    /// </summary>
    /// <exception cref="ControlLineTooLongException">The line is longer than the bound.</exception>
    public async ValueTask<ReadOnlyMemory<byte>?> ReadLineAsync(CancellationToken cancellationToken)
    {
        int scanned = _start;
        while (true)
        {
            int newline = Array.IndexOf(_buffer, (byte)'\n', scanned, _end - scanned);
            if (newline >= 0)
            {
                int lineEnd = newline > _start && _buffer[newline - 1] == '\r' ? newline - 1 : newline;
                if (lineEnd - _start > maxLineBytes)
                {
                    throw new ControlLineTooLongException();
                }

                ReadOnlyMemory<byte> line = _buffer.AsMemory(_start, lineEnd - _start);
                _start = newline + 1;
                return line;
            }

            if (_end - _start > maxLineBytes)
            {
                throw new ControlLineTooLongException();
            }

            scanned = _end;
            if (_end == _buffer.Length)
            {
                int pending = _end - _start;
                byte[] target = pending * 2 > _buffer.Length ? new byte[Math.Min(_buffer.Length * 2, maxLineBytes + 2)] : _buffer;
                Array.Copy(_buffer, _start, target, 0, pending);
                _buffer = target;
                _start = 0;
                _end = pending;
                scanned = pending;
            }

            int read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                if (_end == _start)
                {
                    return null;
                }

                ReadOnlyMemory<byte> last = _buffer.AsMemory(_start, _end - _start);
                _start = _end;
                return last;
            }

            _end += read;
        }
    }
}
