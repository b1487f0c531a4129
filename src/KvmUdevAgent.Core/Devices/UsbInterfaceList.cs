using System.Collections.Immutable;

namespace KvmUdevAgent.Core.Devices;

/// <summary>
/// The interface classes read from a <c>descriptors</c> attribute. <see cref="Problem"/> is null
/// when the walk reached the end cleanly; otherwise it says where it stopped, and
/// <see cref="Interfaces"/> holds only what was read before.
/// </summary>
internal sealed record UsbInterfaceList(ImmutableArray<string> Interfaces, string? Problem);
