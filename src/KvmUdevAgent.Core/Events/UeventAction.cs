namespace KvmUdevAgent.Core.Events;

/// <summary>The kernel's <c>ACTION</c> value. Text that is not one of these is <see cref="Unknown"/>.</summary>
public enum UeventAction
{
    /// <summary>An action this version does not know; the raw text is in <see cref="Uevent.ActionText"/>.</summary>
    Unknown = 0,
    /// <summary><c>add</c>: the device appeared.</summary>
    Add,
    /// <summary><c>remove</c>: the device went away; its sysfs directory is already gone.</summary>
    Remove,
    /// <summary><c>change</c>: something about the device changed (media, size, ...).</summary>
    Change,
    /// <summary><c>move</c>: the device was renamed.</summary>
    Move,
    /// <summary><c>online</c>.</summary>
    Online,
    /// <summary><c>offline</c>.</summary>
    Offline,
    /// <summary><c>bind</c>: a driver was bound (kernels 4.14+ send it after <c>add</c>).</summary>
    Bind,
    /// <summary><c>unbind</c>: a driver was unbound (before <c>remove</c>).</summary>
    Unbind,
}
