using System.Globalization;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>QEMU's version as its monitor reports it (QMP greeting / <c>query-version</c>, or the HMP banner).</summary>
internal sealed record QemuVersion(int Major, int Minor, int Micro, string? Package)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Major}.{Minor}.{Micro}") + (string.IsNullOrEmpty(Package) ? "" : " (" + Package.Trim() + ")");
}
