using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// Opens a monitor endpoint and tells QMP from HMP by the first thing QEMU says: QMP greets with
/// a JSON object (<c>{"QMP": ...}</c>), HMP with <c>QEMU x.y.z monitor - type 'help' ...</c>.
/// A protocol set in the config must match what the greeting shows.
/// </summary>
internal static class MonitorConnector
{
    public static readonly TimeSpan DefaultCommandTimeout = TimeSpan.FromSeconds(5);

    private const int MaxEventsBeforeGreeting = 64;

    /// <param name="endpoint">Where the monitor listens.</param>
    /// <param name="protocol"><see cref="MonitorProtocol.Auto"/> to detect; otherwise the greeting must agree.</param>
    /// <param name="commandTimeout">Per-command timeout, also used for the greeting.</param>
    /// <param name="wrapStream">Lets tests record the bytes sent; null in production.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    public static Task<IMonitorConnection> ConnectAsync(
        MonitorEndpoint endpoint,
        MonitorProtocol protocol,
        TimeSpan commandTimeout,
        Func<Stream, Stream>? wrapStream,
        CancellationToken cancellationToken) =>
        ConnectAsync(endpoint, protocol, commandTimeout, commandTimeout, wrapStream, cancellationToken);

    /// <summary>As the other overload, waiting up to <paramref name="greetingWait"/> for the greeting (an on-demand client queued behind another one waits longer than a command may take).</summary>
    public static async Task<IMonitorConnection> ConnectAsync(
        MonitorEndpoint endpoint,
        MonitorProtocol protocol,
        TimeSpan commandTimeout,
        TimeSpan greetingWait,
        Func<Stream, Stream>? wrapStream,
        CancellationToken cancellationToken)
    {
        using var greetingTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        greetingTimeout.CancelAfter(greetingWait);
        Stream stream;
        try
        {
            stream = await endpoint.ConnectAsync(greetingTimeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MonitorTimeoutException("Connecting to " + endpoint + " timed out.", e);
        }

        if (wrapStream is not null)
        {
            stream = wrapStream(stream);
        }

        var transport = new MonitorTransport(stream, endpoint.Kind == MonitorEndpointKind.Telnet);
        MonitorProtocol detected;
        try
        {
            detected = await DetectAsync(transport, greetingTimeout.Token).ConfigureAwait(false);
            if (protocol is MonitorProtocol.Qmp or MonitorProtocol.Hmp && protocol != detected)
            {
                throw new MonitorProtocolException(
                    "The config says protocol " + Name(protocol) + " for " + endpoint + ", but QEMU greets with " + Name(detected) + "; fix 'protocol:' or the VM's -monitor/-qmp option.");
            }
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            await transport.DisposeAsync().ConfigureAwait(false);
            throw new MonitorTimeoutException("No greeting from " + endpoint + " within " + greetingWait.TotalMilliseconds + " ms (is another client connected? QEMU serves one monitor client at a time).", e);
        }
        catch
        {
            await transport.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        try
        {
            if (detected == MonitorProtocol.Qmp)
            {
                byte[] greeting = await ReadQmpGreetingAsync(transport, greetingTimeout.Token).ConfigureAwait(false);
                return await QmpConnection.OpenAsync(transport, greeting, commandTimeout, greetingTimeout.Token).ConfigureAwait(false);
            }

            return await HmpConnection.OpenAsync(transport, commandTimeout, greetingTimeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MonitorTimeoutException("No complete greeting from " + endpoint + " within " + greetingWait.TotalMilliseconds + " ms.", e);
        }
    }

    /// <summary>
    /// The first line that is not an event. QEMU (7.2 measured) writes an event emitted between the
    /// previous client's leaving and this client's greeting to this client, before the greeting:
    /// the monitor still counts as negotiated until it handles the new connection. Such an event
    /// was meant for the client that left, so it is dropped; a peer that sends nothing but events
    /// is cut off after <see cref="MaxEventsBeforeGreeting"/>.
    /// </summary>
    private static async Task<byte[]> ReadQmpGreetingAsync(MonitorTransport transport, CancellationToken cancellationToken)
    {
        for (int events = 0; ; events++)
        {
            byte[] line = await transport.ReadLineAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new MonitorDisconnectedException("The monitor closed during its greeting.");
            if (!QmpConnection.IsEvent(line))
            {
                return line;
            }

            if (events == MaxEventsBeforeGreeting)
            {
                throw new MonitorProtocolException("The monitor sent more than " + MaxEventsBeforeGreeting + " events and no QMP greeting.");
            }
        }
    }

    private static async Task<MonitorProtocol> DetectAsync(MonitorTransport transport, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadOnlySpan<byte> buffered = transport.Buffered;
            int first = buffered.IndexOfAnyExcept(" \t\r\n"u8);
            if (first >= 0)
            {
                if (buffered[first] == (byte)'{')
                {
                    return MonitorProtocol.Qmp;
                }

                if (buffered.Length - first >= 5)
                {
                    if (buffered[first..].StartsWith("QEMU "u8))
                    {
                        return MonitorProtocol.Hmp;
                    }

                    throw new MonitorProtocolException("The peer is neither a QMP nor an HMP monitor (no JSON greeting and no 'QEMU ... monitor' banner).");
                }
            }

            if (!await transport.FillAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new MonitorDisconnectedException("The monitor closed the connection before greeting (QEMU serves one client at a time).");
            }
        }
    }

    private static string Name(MonitorProtocol protocol) => protocol switch
    {
        MonitorProtocol.Qmp => "qmp",
        MonitorProtocol.Hmp => "hmp",
        _ => "auto",
    };
}
