using KvmUdevAgent.Core.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace KvmUdevAgent.Daemon;

/// <summary>Registers the agent's components in the host.</summary>
internal static class DaemonServices
{
    public static void Add(IServiceCollection services, AgentConfig config, DaemonOptions options)
    {
        _ = config;
        _ = options;
        services.AddHostedService<AgentHostedService>();
    }
}
