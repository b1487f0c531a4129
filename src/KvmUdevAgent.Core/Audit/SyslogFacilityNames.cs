using System.Diagnostics.CodeAnalysis;

namespace KvmUdevAgent.Core.Audit;

/// <summary>Parses facility names from the config.</summary>
internal static class SyslogFacilityNames
{
    private static readonly Dictionary<string, SyslogFacility> s_byName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["kern"] = SyslogFacility.Kern,
        ["user"] = SyslogFacility.User,
        ["mail"] = SyslogFacility.Mail,
        ["daemon"] = SyslogFacility.Daemon,
        ["auth"] = SyslogFacility.Auth,
        ["security"] = SyslogFacility.Auth,
        ["syslog"] = SyslogFacility.Syslog,
        ["lpr"] = SyslogFacility.Lpr,
        ["news"] = SyslogFacility.News,
        ["uucp"] = SyslogFacility.Uucp,
        ["cron"] = SyslogFacility.Cron,
        ["authpriv"] = SyslogFacility.Authpriv,
        ["ftp"] = SyslogFacility.Ftp,
        ["local0"] = SyslogFacility.Local0,
        ["local1"] = SyslogFacility.Local1,
        ["local2"] = SyslogFacility.Local2,
        ["local3"] = SyslogFacility.Local3,
        ["local4"] = SyslogFacility.Local4,
        ["local5"] = SyslogFacility.Local5,
        ["local6"] = SyslogFacility.Local6,
        ["local7"] = SyslogFacility.Local7,
    };

    public static bool TryParse(string? name, out SyslogFacility facility, [NotNullWhen(false)] out string? reason)
    {
        if (name is not null && s_byName.TryGetValue(name, out facility))
        {
            reason = null;
            return true;
        }

        facility = default;
        reason = $"unknown syslog facility '{name}'; expected one of: kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, local0 ... local7";
        return false;
    }
}
