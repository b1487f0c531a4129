using System.Threading.Channels;

namespace KvmUdevAgent.Core.Events;

/// <summary>
/// A live stream of uevents from one netlink group. Opening binds the socket, so nothing that
/// happens after <see cref="UeventSources.Open"/> returns is missed. Bad datagrams are dropped and
/// counted, never thrown; a lost-event signal arrives on <see cref="Overflows"/> and the consumer
/// decides how to resynchronise (the daemon re-enumerates sysfs). Disposing stops the receive loop
/// and closes the socket; it is idempotent.
/// </summary>
public interface IUeventSource : IAsyncDisposable
{
    /// <summary><see cref="UeventSource.Kernel"/> or <see cref="UeventSource.Udev"/>.</summary>
    UeventSource Kind { get; }

    /// <summary>
    /// Accepted events, in arrival order. Bounded: when the consumer falls a whole ring behind, the
    /// receive loop drops what does not fit (it never waits for the consumer) and the loss is reported
    /// on <see cref="Overflows"/>. Completes when the source is disposed, or with the socket error that stopped it.
    /// </summary>
    ChannelReader<Uevent> Events { get; }

    /// <summary>
    /// Lost-event signals. At most one is pending: further losses before it is read are folded into
    /// <see cref="Counters"/> only, because one resync covers them all.
    /// </summary>
    ChannelReader<UeventOverflow> Overflows { get; }

    /// <summary>
    /// Dropped datagrams (spoofed, malformed), for a rate-limited audit warning. Bounded: when the
    /// consumer does not keep up, further ones are counted in <see cref="Counters"/> only.
    /// </summary>
    ChannelReader<UeventReject> Rejects { get; }

    /// <summary>Running counts; safe to read at any time from any thread.</summary>
    UeventSourceCounters Counters { get; }
}
