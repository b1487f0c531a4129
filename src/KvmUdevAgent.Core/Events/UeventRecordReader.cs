using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;

namespace KvmUdevAgent.Core.Events;

/// <summary>Reads record files written by <see cref="UeventRecordWriter"/> (<c>monitor --record</c>).</summary>
public static class UeventRecordReader
{
    /// <summary>
    /// Parses one line. Blank lines are not records (false with a null error). On failure,
    /// <paramref name="error"/> says what is wrong, without position (the caller knows the line).
    /// </summary>
    public static bool TryParseLine(string line, [NotNullWhen(true)] out UeventRecord? record, out string? error)
    {
        ArgumentNullException.ThrowIfNull(line);
        record = null;
        error = null;
        if (string.IsNullOrWhiteSpace(line))
        {
            return false;
        }

        UeventRecordLine? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(line, UeventRecordJsonContext.Default.UeventRecordLine);
        }
        catch (JsonException e)
        {
            error = "not a record: " + e.Message;
            return false;
        }

        if (parsed?.Properties is null)
        {
            error = "not a record: no \"properties\" array";
            return false;
        }

        UeventSource source = parsed.Source switch
        {
            "kernel" => UeventSource.Kernel,
            "udev" => UeventSource.Udev,
            "sysfs" => UeventSource.Sysfs,
            "replay" => UeventSource.Replay,
            _ => UeventSource.Unknown,
        };

        var builder = new UeventBuilder();
        for (int i = 0; i < parsed.Properties.Count; i++)
        {
            UeventRecordProperty? p = parsed.Properties[i];
            byte[]? key = p?.KeyBase64 ?? (p?.Key is { } k ? Encoding.UTF8.GetBytes(k) : null);
            byte[]? value = p?.ValueBase64 ?? (p?.Value is { } v ? Encoding.UTF8.GetBytes(v) : null);
            if (key is null || value is null)
            {
                error = $"property {i + 1}: expected \"key\" (or \"key_base64\") and \"value\" (or \"value_base64\")";
                return false;
            }

            if (!builder.TryAdd(key, value))
            {
                error = $"property {i + 1}: the key must be non-empty without '=' or NUL, the value without NUL";
                return false;
            }
        }

        record = new UeventRecord(source, parsed.Time, builder.Build(UeventSource.Replay, parsed.Coldplug, Stopwatch.GetTimestamp()));
        return true;
    }

    /// <summary>
    /// Reads every record of <paramref name="reader"/>, lazily. Throws <see cref="InvalidDataException"/>
    /// with <c>NAME:LINE: error</c> on the first bad line (<paramref name="name"/> is the file name for messages).
    /// </summary>
    public static IEnumerable<UeventRecord> Read(TextReader reader, string name)
    {
        ArgumentNullException.ThrowIfNull(reader);
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (TryParseLine(line, out UeventRecord? record, out string? error))
            {
                yield return record;
            }
            else if (error is not null)
            {
                throw new InvalidDataException($"{name}:{lineNumber}: error: {error}");
            }
        }
    }
}
