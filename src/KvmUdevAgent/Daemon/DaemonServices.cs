using Microsoft.Extensions.DependencyInjection;

namespace KvmUdevAgent.Daemon;

/// <summary>Registers the agent's components in the host.</summary>
internal static class DaemonServices
{
    public static void Add(IServiceCollection services) => services.AddHostedService<AgentHostedService>();
}
