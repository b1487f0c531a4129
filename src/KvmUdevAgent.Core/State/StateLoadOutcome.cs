namespace KvmUdevAgent.Core.State;

/// <summary>What <see cref="StateStore.OpenAsync"/> found on disk.</summary>
public enum StateLoadOutcome
{
    /// <summary>Not a valid value.</summary>
    Unknown = 0,

    /// <summary>No state file: first start; the state is empty.</summary>
    Missing,

    /// <summary>The file was read.</summary>
    Loaded,

    /// <summary>The file could not be parsed (or has a version this build does not know); it was moved aside and the state is empty.</summary>
    Corrupt,
}
