using System.Threading.Channels;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Devices;
using KvmUdevAgent.Core.Events;
using KvmUdevAgent.Core.Rules;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmUdevAgent.Cli;

/// <summary>Runs <c>monitor</c>: opens the sources, prints (and records) events until cancelled, then prints the counts.</summary>
internal sealed class MonitorHandler(TextWriter output, TextWriter error)
{
    public async Task<int> InvokeAsync(MonitorOptions options, CancellationToken cancellationToken)
    {
        var sources = new List<IUeventSource>();
        UeventRecordWriter? recorder = null;
        try
        {
            var sourceOptions = new UeventSourceOptions { ReceiveBufferBytes = options.ReceiveBufferBytes };
            foreach (SourceKind kind in options.Sources)
            {
                // Bind before coldplug enumeration, so nothing that changes meanwhile is missed.
                sources.Add(UeventSources.Open(kind, sourceOptions, NullLogger.Instance));
            }

            if (options.RecordPath is not null)
            {
                recorder = UeventRecordWriter.Create(options.RecordPath);
            }

            if (sources.Any(s => s.Kind == UeventSource.Udev) && UeventSources.Resolve(SourceKind.Auto, sourceOptions) != SourceKind.Udev)
            {
                await error.WriteLineAsync($"monitor: warning: systemd-udevd does not seem to run ({sourceOptions.UdevControlPath} is missing): nothing arrives on the udev group without it; try --source kernel").ConfigureAwait(false);
            }

            if (!options.Json)
            {
                await error.WriteLineAsync($"monitor: listening for {string.Join(" and ", sources.Select(s => Label(s.Kind)))} uevents; Ctrl-C to stop").ConfigureAwait(false);
            }

            if (options.Coldplug)
            {
                foreach (Uevent uevent in UeventSources.EnumerateColdplug(options.SysfsRoot, cancellationToken))
                {
                    await ShowAsync(uevent, options, recorder).ConfigureAwait(false);
                }
            }

            return await PumpAsync(sources, options, recorder, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }
        catch (IOException e)
        {
            await error.WriteLineAsync($"monitor: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Failure;
        }
        catch (UnauthorizedAccessException e)
        {
            await error.WriteLineAsync($"monitor: {e.Message}; run as root or choose another --record file").ConfigureAwait(false);
            return ExitCodes.NoPermission;
        }
        finally
        {
            foreach (IUeventSource source in sources)
            {
                await source.DisposeAsync().ConfigureAwait(false);
                await error.WriteLineAsync(FormatCounts(source)).ConfigureAwait(false);
            }

            if (recorder is not null)
            {
                await recorder.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<int> PumpAsync(List<IUeventSource> sources, MonitorOptions options, UeventRecordWriter? recorder, CancellationToken cancellationToken)
    {
        // One consumer for all sources keeps output lines whole and in arrival order.
        Channel<Uevent> merged = Channel.CreateUnbounded<Uevent>(new UnboundedChannelOptions { SingleReader = true });
        Task[] pumps = [.. sources.Select(s => ForwardAsync(s, merged.Writer, cancellationToken)), .. sources.Select(s => WatchOverflowAsync(s, cancellationToken))];
        Task allPumps = Task.WhenAll(pumps);
        _ = allPumps.ContinueWith(t => merged.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        await foreach (Uevent uevent in merged.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            await ShowAsync(uevent, options, recorder).ConfigureAwait(false);
        }

        // The sources only stop by themselves on a socket error.
        await allPumps.ConfigureAwait(false);
        return ExitCodes.Failure;
    }

    private static async Task ForwardAsync(IUeventSource source, ChannelWriter<Uevent> writer, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (Uevent uevent in source.Events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                await writer.WriteAsync(uevent, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new IOException($"{Label(source.Kind)} uevent source stopped: {e.Message}", e);
        }
    }

    private async Task WatchOverflowAsync(IUeventSource source, CancellationToken cancellationToken)
    {
        await foreach (UeventOverflow overflow in source.Overflows.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            string what = overflow.Kind == UeventOverflowKind.SequenceGap
                ? $"SEQNUM skipped {overflow.MissingEvents} (events of other network namespaces also do this)"
                : "receive buffer overrun (ENOBUFS); raise --rcvbuf";
            await error.WriteLineAsync($"monitor: warning: {Label(source.Kind)} uevents may have been lost: {what}").ConfigureAwait(false);
        }
    }

    private async Task ShowAsync(Uevent uevent, MonitorOptions options, UeventRecordWriter? recorder)
    {
        if (options.Subsystems.Count > 0 && !options.Subsystems.Contains(uevent.Subsystem))
        {
            return;
        }

        // Record and print the same line, so --json output and the record file agree to the byte.
        DeviceIdentity? identity = SysfsIdentity(uevent, options.SysfsRoot);
        string? json = recorder?.Write(uevent, identity);
        await output.WriteAsync(options.Json ? (json ?? UeventRecordWriter.ToJson(uevent, identity)) + "\n" : MonitorText.Format(uevent, DescribeInterfaces(identity))).ConfigureAwait(false);
        await output.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// For a USB device that the kernel announced (udevd's events carry ID_USB_INTERFACES themselves),
    /// the view the daemon builds from sysfs, so what is shown is what an <c>interfaces</c> condition sees.
    /// </summary>
    private static DeviceIdentity? SysfsIdentity(Uevent uevent, string sysfsRoot) =>
        uevent.Source is UeventSource.Kernel or UeventSource.Sysfs && uevent.Subsystem == "usb" && uevent.DevType == "usb_device"
            && uevent.Action is UeventAction.Add or UeventAction.Change
            ? new DeviceViewFactory(sysfsRoot).Create(uevent).Identity
            : null;

    private static string? DescribeInterfaces(DeviceIdentity? identity)
    {
        if (identity is null)
        {
            return null;
        }

        if (PlanDevice.InterfaceSourceName(identity.InterfacesSource) is not { } from)
        {
            return identity.InterfacesProblem is { } p ? $"interfaces: unknown: {p}" : "interfaces: none found in sysfs";
        }

        return $"interfaces from {from}: [{string.Join(", ", identity.Interfaces)}]"
            + (identity.InterfacesProblem is null ? string.Empty : $"; incomplete: {identity.InterfacesProblem}");
    }

    internal static string FormatCounts(IUeventSource source)
    {
        UeventSourceCounters c = source.Counters;
        string reasons = string.Join(", ", c.Rejected.NonZero.Where(r => !IsTrust(r.Key)).Select(r => $"{r.Key} {r.Value}"));
        return $"{Label(source.Kind)}: {c.Accepted} seen, {c.Untrusted} dropped as spoofed or untrusted, {c.Malformed} malformed"
            + (reasons.Length > 0 ? $" ({reasons})" : string.Empty)
            + $", {c.Overruns} overruns (lost to overflow), {c.SequenceGapEvents} missing by SEQNUM";
    }

    private static bool IsTrust(RejectReason reason) =>
        reason is RejectReason.Spoofed or RejectReason.MissingCredentials or RejectReason.UntrustedSender;

    private static string Label(UeventSource kind) => kind == UeventSource.Udev ? "udev" : "kernel";
}
