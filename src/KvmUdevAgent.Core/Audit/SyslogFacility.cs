namespace KvmUdevAgent.Core.Audit;

/// <summary>RFC 5424 §6.2.1 facilities, with their wire numbers; names as in syslog.conf(5).</summary>
internal enum SyslogFacility
{
    Kern = 0,
    User = 1,
    Mail = 2,
    Daemon = 3,
    Auth = 4,
    Syslog = 5,
    Lpr = 6,
    News = 7,
    Uucp = 8,
    Cron = 9,
    Authpriv = 10,
    Ftp = 11,
    Local0 = 16,
    Local1 = 17,
    Local2 = 18,
    Local3 = 19,
    Local4 = 20,
    Local5 = 21,
    Local6 = 22,
    Local7 = 23,
}
