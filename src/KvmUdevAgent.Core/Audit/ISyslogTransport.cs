namespace KvmUdevAgent.Core.Audit;

/// <summary>
/// Sends one formatted message. Implementations connect lazily and, after a failure, drop their
/// socket so the next call reconnects; <see cref="SyslogQueue"/> owns the retry and backoff.
/// Called from one task at a time.
/// </summary>
internal interface ISyslogTransport : IDisposable
{
    /// <summary>The largest message (without framing) this transport carries; the formatter shortens to fit.</summary>
    int MaxMessageBytes { get; }

    /// <summary>Sends the message; throws <see cref="System.Net.Sockets.SocketException"/>, <see cref="IOException"/> or <see cref="TimeoutException"/> on failure.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken);
}
