namespace KvmUdevAgent.Core.Events;

/// <summary>Conversion between <see cref="UeventAction"/> and the kernel's action words.</summary>
public static class UeventActions
{
    /// <summary>Maps the kernel's word (ASCII, case-sensitive as the kernel sends it) to the enum.</summary>
    public static UeventAction Parse(ReadOnlySpan<byte> text) => text switch
    {
        _ when text.SequenceEqual("add"u8) => UeventAction.Add,
        _ when text.SequenceEqual("remove"u8) => UeventAction.Remove,
        _ when text.SequenceEqual("change"u8) => UeventAction.Change,
        _ when text.SequenceEqual("move"u8) => UeventAction.Move,
        _ when text.SequenceEqual("online"u8) => UeventAction.Online,
        _ when text.SequenceEqual("offline"u8) => UeventAction.Offline,
        _ when text.SequenceEqual("bind"u8) => UeventAction.Bind,
        _ when text.SequenceEqual("unbind"u8) => UeventAction.Unbind,
        _ => UeventAction.Unknown,
    };

    /// <summary>Maps a string action word to the enum.</summary>
    public static UeventAction Parse(string text) => text switch
    {
        "add" => UeventAction.Add,
        "remove" => UeventAction.Remove,
        "change" => UeventAction.Change,
        "move" => UeventAction.Move,
        "online" => UeventAction.Online,
        "offline" => UeventAction.Offline,
        "bind" => UeventAction.Bind,
        "unbind" => UeventAction.Unbind,
        _ => UeventAction.Unknown,
    };

    /// <summary>The kernel's word for a known action; <c>"unknown"</c> for <see cref="UeventAction.Unknown"/>.</summary>
    public static string ToWord(this UeventAction action) => action switch
    {
        UeventAction.Add => "add",
        UeventAction.Remove => "remove",
        UeventAction.Change => "change",
        UeventAction.Move => "move",
        UeventAction.Online => "online",
        UeventAction.Offline => "offline",
        UeventAction.Bind => "bind",
        UeventAction.Unbind => "unbind",
        _ => "unknown",
    };
}
