namespace KvmUdevAgent.Core.Audit;

/// <summary>RFC 5424 §6.2.1 severities, with their wire numbers.</summary>
internal enum SyslogSeverity
{
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Informational = 6,
    Debug = 7,
}
