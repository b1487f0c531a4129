using System.Globalization;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// A device property value: a number or a string. Over QMP a string is written as a JSON value by
/// the serializer (escaped); over HMP it must pass <see cref="HmpLine"/>'s allow-list or the command
/// is refused before anything is sent.
/// </summary>
internal readonly record struct QemuValue
{
    private QemuValue(string? text, long number)
    {
        Text = text;
        Number = number;
    }

    /// <summary>The string value; null for a number.</summary>
    public string? Text { get; }

    public long Number { get; }

    public bool IsNumber => Text is null;

    public static QemuValue Of(string text) => new(text ?? throw new ArgumentNullException(nameof(text)), 0);

    public static QemuValue Of(long number) => new(null, number);

    public override string ToString() => Text ?? Number.ToString(CultureInfo.InvariantCulture);
}
