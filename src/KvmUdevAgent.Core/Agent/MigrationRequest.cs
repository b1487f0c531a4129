namespace KvmUdevAgent.Core.Agent;

/// <summary>What <c>kvm-udev-agent migrate</c> asks for, as the control handler read it.</summary>
/// <param name="Vm">The VM's configured name.</param>
/// <param name="Uri">The destination, unchecked (<c>tcp:HOST:PORT</c> or <c>unix:/path</c>).</param>
/// <param name="Timeout">How long the migration itself may run before it is cancelled; null: no limit.</param>
/// <param name="ReturnPath">Also turn on the <c>return-path</c> capability (the destination must have it too).</param>
internal sealed record MigrationRequest(string Vm, string Uri, TimeSpan? Timeout, bool ReturnPath);
