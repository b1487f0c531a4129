using Microsoft.Extensions.DependencyInjection;

namespace KvmUdevAgent.Core.Audit;

/// <summary>Host glue: one <see cref="IAuditWriter"/> for the daemon.</summary>
internal static class AuditServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IAuditWriter"/> (an <see cref="AuditSink"/>, or <see cref="NullAuditWriter"/>
    /// when syslog is off) and <see cref="AuditSink"/> itself when enabled (for <c>status</c>).
    /// The container disposes the sink at shutdown, which flushes for up to 2 s.
    /// </summary>
    public static IServiceCollection AddAudit(this IServiceCollection services, AuditSettings settings)
    {
        ArgumentNullException.ThrowIfNull(services);
        AuditSink? sink = AuditSink.Create(settings);
        if (sink is null)
        {
            services.AddSingleton<IAuditWriter>(NullAuditWriter.Instance);
            return services;
        }

        // Registered through a factory so the container owns (and disposes) the instance.
        services.AddSingleton(_ => sink);
        services.AddSingleton<IAuditWriter>(sp => sp.GetRequiredService<AuditSink>());
        return services;
    }
}
