namespace KvmUdevAgent.Core.Qemu;

/// <summary>QMP and HMP command, event and property names, verbatim.</summary>
internal static class QmpCommands
{
    public const string Capabilities = "qmp_capabilities";
    public const string QueryVersion = "query-version";
    public const string QomList = "qom-list";
    public const string QomGet = "qom-get";
    public const string DeviceAdd = "device_add";
    public const string DeviceDel = "device_del";
    public const string BlockdevAdd = "blockdev-add";
    public const string BlockdevDel = "blockdev-del";
    public const string QueryBlock = "query-block";
    public const string QueryNamedBlockNodes = "query-named-block-nodes";
    public const string AddFd = "add-fd";
    public const string RemoveFd = "remove-fd";
    public const string QueryFdsets = "query-fdsets";
    public const string QueryStatus = "query-status";
    public const string HumanMonitorCommand = "human-monitor-command";
    public const string FdsetPathPrefix = "/dev/fdset/";

    public const string DeviceDeletedEvent = "DEVICE_DELETED";

    /// <summary>HMP-only commands.</summary>
    public const string HmpDriveAdd = "drive_add";
    public const string HmpDriveDel = "drive_del";
    public const string HmpInfo = "info";

    public const string PeripheralPath = "/machine/peripheral";
    public const string MachinePath = "/machine";
}
