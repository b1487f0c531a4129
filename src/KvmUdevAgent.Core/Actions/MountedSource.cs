namespace KvmUdevAgent.Core.Actions;

/// <summary>
/// Which filesystem a mount is: the source as mount(2) got it and the device number of its files
/// (<c>st_dev</c>), as <c>/proc/self/mountinfo</c> shows them. The device number is null in state
/// records written before it was recorded.
/// </summary>
internal readonly record struct MountedSource(string DevNode, uint? Major, uint? Minor)
{
    /// <summary>True if <paramref name="entry"/> is this source: same source string and, when known, same device number.</summary>
    public bool Matches(MountInfoEntry entry) =>
        string.Equals(entry.Source, DevNode, StringComparison.Ordinal)
        && (Major is not { } major || Minor is not { } minor || (entry.Major == major && entry.Minor == minor));

    public override string ToString() => Major is { } major && Minor is { } minor ? $"{DevNode} ({major}:{minor})" : DevNode;
}
