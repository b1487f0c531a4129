namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// <c>attach:</c> — <see cref="Kind"/> null means the default for the device (usb-host for a USB device,
/// usb-storage for a block device); <see cref="Removable"/> null means as the host disk says.
/// </summary>
internal sealed record AttachSpec(string Vm, AttachKind? Kind, bool ReadOnly, SourcePosition VmPosition, bool? Removable = null)
{
    public bool Equals(AttachSpec? other) => other is not null && Vm == other.Vm && Kind == other.Kind && ReadOnly == other.ReadOnly && Removable == other.Removable;

    public override int GetHashCode() => HashCode.Combine(Vm, Kind, ReadOnly, Removable);
}
