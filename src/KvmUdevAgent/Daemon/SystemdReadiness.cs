using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;

namespace KvmUdevAgent.Daemon;

/// <summary>
/// sd_notify: READY=1 once every hosted service has started (the agent's rules are loaded, its
/// sources open and coldplug queued), STOPPING=1 when shutdown begins. Does nothing without NOTIFY_SOCKET.
/// </summary>
internal sealed class SystemdReadiness(IHostApplicationLifetime lifetime) : IHostedService
{
    private readonly SystemdNotifier _notifier = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_notifier.IsEnabled)
        {
            lifetime.ApplicationStarted.Register(() => _notifier.Notify(new ServiceState("READY=1\nSTATUS=routing hotplug events")));
            lifetime.ApplicationStopping.Register(() => _notifier.Notify(ServiceState.Stopping));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
