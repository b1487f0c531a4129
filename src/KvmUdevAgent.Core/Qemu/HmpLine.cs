using System.Globalization;
using System.Text;

namespace KvmUdevAgent.Core.Qemu;

/// <summary>
/// Builds one HMP command line from validated parts only. HMP has no quoting that QEMU applies
/// uniformly (a comma splits options, a space splits arguments, a newline ends the command), so
/// instead of escaping, every word and option value must match <c>[A-Za-z0-9_./-]+</c> and not
/// start with '-'; anything else throws <see cref="ArgumentException"/> before a byte is sent.
/// Device strings (serials, labels, models) therefore can never reach an HMP line.
/// </summary>
internal sealed class HmpLine
{
    private readonly StringBuilder _text = new();
    private bool _inOptions;

    public HmpLine(string command)
    {
        foreach (char c in command)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '_' or '-'))
            {
                throw new ArgumentException("An HMP command name is lower-case letters, digits, '_' and '-'.", nameof(command));
            }
        }

        _text.Append(command);
    }

    private HmpLine(string text, bool raw)
    {
        _ = raw;
        _text.Append(text);
    }

    /// <summary>
    /// A whole line the administrator typed (<c>monitor-command --hmp</c>): root's own input, not
    /// device data, checked only to be one line of printable characters.
    /// </summary>
    public static HmpLine Raw(string text)
    {
        if (text.Length == 0 || text.Length > 4096 || text.Any(char.IsControl))
        {
            throw new ArgumentException("An HMP command line is 1 to 4096 characters without control characters.", nameof(text));
        }

        return new HmpLine(text, raw: true);
    }

    /// <summary>Appends a space-separated word.</summary>
    public HmpLine Word(string word)
    {
        EnsureSafe(word, nameof(word));
        _text.Append(' ').Append(word);
        _inOptions = false;
        return this;
    }

    public HmpLine Word(long number)
    {
        _text.Append(' ').Append(number.ToString(CultureInfo.InvariantCulture));
        _inOptions = false;
        return this;
    }

    /// <summary>Appends <c>key=value</c> to the current comma-separated option word (starting one if needed).</summary>
    public HmpLine Option(string key, QemuValue value)
    {
        EnsureSafe(key, nameof(key));
        if (value.Text is not null)
        {
            EnsureSafe(value.Text!, nameof(value));
        }

        _text.Append(_inOptions ? ',' : ' ').Append(key).Append('=').Append(value.ToString());
        _inOptions = true;
        return this;
    }

    /// <summary>Appends a bare token to the current option word (the driver in <c>device_add usb-host,id=...</c>).</summary>
    public HmpLine OptionWord(string token)
    {
        EnsureSafe(token, nameof(token));
        _text.Append(' ').Append(token);
        _inOptions = true;
        return this;
    }

    /// <summary>Appends a single-letter flag (<c>-d</c>).</summary>
    public HmpLine Flag(char letter)
    {
        if (!char.IsAsciiLetterLower(letter))
        {
            throw new ArgumentException("An HMP flag is one lower-case letter.", nameof(letter));
        }

        _text.Append(" -").Append(letter);
        _inOptions = false;
        return this;
    }

    /// <summary>Appends a migration destination, validated by <see cref="MigrationUri.TryParse"/>.</summary>
    public HmpLine Word(MigrationUri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        _text.Append(' ').Append(uri.Text);
        _inOptions = false;
        return this;
    }

    /// <summary>True when <paramref name="value"/> could be sent in an HMP line.</summary>
    public static bool IsSafe(string value)
    {
        if (value.Length == 0 || value.Length > 4096 || value[0] == '-')
        {
            return false;
        }

        foreach (char c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '/' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static void EnsureSafe(string value, string parameterName)
    {
        if (!IsSafe(value))
        {
            throw new ArgumentException("Refusing to put a value that is not [A-Za-z0-9_./-]+ into an HMP command line.", parameterName);
        }
    }

    /// <summary>The line, for logs and tests.</summary>
    public override string ToString() => _text.ToString();

    /// <summary>The bytes to send: ASCII, terminated by a single <c>\n</c> (a <c>\r\n</c> would run an empty second command).</summary>
    public byte[] ToBytes() => Encoding.ASCII.GetBytes(_text.Append('\n').ToString());
}
