using System.Globalization;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// A device property value: a number, a string or a flag. Over QMP a string is written as a JSON value by
/// the serializer (escaped); over HMP it must pass <see cref="HmpLine"/>'s allow-list or the command
/// is refused before anything is sent.
/// </summary>
internal readonly record struct QemuValue
{
    private QemuValue(string? text, long number, bool? flag = null)
    {
        Text = text;
        Number = number;
        Flag = flag;
    }

    /// <summary>The string value; null for a number.</summary>
    public string? Text { get; }

    public long Number { get; }

    /// <summary>A boolean property (QMP <c>true</c>/<c>false</c>, HMP <c>on</c>/<c>off</c>); null for a string or number.</summary>
    public bool? Flag { get; }

    public bool IsNumber => Text is null && Flag is null;

    public static QemuValue Of(string text) => new(text ?? throw new ArgumentNullException(nameof(text)), 0);

    public static QemuValue Of(long number) => new(null, number);

    public static QemuValue Of(bool flag) => new(null, 0, flag);

    public override string ToString() => Flag is { } flag ? (flag ? "on" : "off") : Text ?? Number.ToString(CultureInfo.InvariantCulture);
}
