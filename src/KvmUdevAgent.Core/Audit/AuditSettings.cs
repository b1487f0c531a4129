using System.Diagnostics.CodeAnalysis;
using KvmUdevAgent.Core.Configuration;

namespace KvmUdevAgent.Core.Audit;

/// <summary>The <c>audit:</c> section, validated: what <see cref="AuditSink"/> and <see cref="SyslogLogEventSink"/> are built from.</summary>
internal sealed record AuditSettings(SyslogEndpoint Endpoint, SyslogFacility Facility, string AppName, string EnterpriseId)
{
    public bool Enabled => Endpoint.Kind != SyslogTransportKind.Off;

    /// <summary>Validates every field; the reason names the config key and what was expected.</summary>
    public static bool TryCreate(AuditConfig config, [NotNullWhen(true)] out AuditSettings? settings, [NotNullWhen(false)] out string? reason)
    {
        ArgumentNullException.ThrowIfNull(config);
        settings = null;
        if (!SyslogEndpoint.TryParse(config.Syslog, out SyslogEndpoint? endpoint, out string? why))
        {
            reason = $"audit.syslog: {why}";
            return false;
        }

        if (!SyslogFacilityNames.TryParse(config.Facility, out SyslogFacility facility, out why))
        {
            reason = $"audit.facility: {why}";
            return false;
        }

        if (string.IsNullOrEmpty(config.AppName) || config.AppName.Length > 48 || config.AppName.Any(c => c is < '!' or > '~'))
        {
            reason = $"audit.app_name: '{config.AppName}' must be 1 to 48 printable ASCII characters without spaces (RFC 5424 APP-NAME)";
            return false;
        }

        if (!Rfc5424Formatter.IsValidEnterpriseId(config.EnterpriseId) || config.EnterpriseId.Length > 24)
        {
            reason = $"audit.enterprise_id: '{config.EnterpriseId}' must be a private enterprise number (digits, optionally dot-separated), e.g. 32473";
            return false;
        }

        settings = new AuditSettings(endpoint, facility, config.AppName, config.EnterpriseId);
        reason = null;
        return true;
    }

    /// <summary>
    /// Where <c>log: syslog</c> sends the daemon's log: the audit target, or the local syslog
    /// socket when audit is off (turning the audit trail off does not silence the log).
    /// </summary>
    public AuditSettings ForLog()
    {
        if (Enabled)
        {
            return this;
        }

        _ = SyslogEndpoint.TryParse(new AuditConfig().Syslog, out SyslogEndpoint? local, out _);
        return this with { Endpoint = local! };
    }

    public Rfc5424Formatter CreateFormatter() => new(Facility, AppName, enterpriseId: EnterpriseId);
}
