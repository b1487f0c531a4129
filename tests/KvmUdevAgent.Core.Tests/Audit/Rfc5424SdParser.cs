using System.Globalization;
using System.Text;

namespace KvmUdevAgent.Core.Tests.Audit;

/// <summary>
/// A small, strict RFC 5424 STRUCTURED-DATA parser for the tests. Unescapes <c>\" \\ \]</c> as the
/// RFC says, plus the agent's <c>\xHH</c> for control characters; any other backslash is literal.
/// Throws <see cref="FormatException"/> on malformed input, so a test fails on bad framing.
/// </summary>
public static class Rfc5424SdParser
{
    public static IReadOnlyList<ParsedSdElement> Parse(string sd)
    {
        if (sd == "-")
        {
            return [];
        }

        var elements = new List<ParsedSdElement>();
        int i = 0;
        while (i < sd.Length)
        {
            Expect(sd, ref i, '[');
            string id = Name(sd, ref i);
            var parameters = new List<KeyValuePair<string, string>>();
            while (true)
            {
                if (i >= sd.Length)
                {
                    throw new FormatException($"unterminated SD element at {i}: {sd}");
                }

                if (sd[i] == ']')
                {
                    i++;
                    break;
                }

                Expect(sd, ref i, ' ');
                string name = Name(sd, ref i);
                Expect(sd, ref i, '=');
                Expect(sd, ref i, '"');
                var value = new StringBuilder();
                while (true)
                {
                    if (i >= sd.Length)
                    {
                        throw new FormatException($"unterminated PARAM-VALUE of {name}");
                    }

                    char c = sd[i++];
                    if (c == '"')
                    {
                        break;
                    }

                    if (c == ']')
                    {
                        throw new FormatException($"unescaped ] in PARAM-VALUE of {name}");
                    }

                    if (c == '\\' && i < sd.Length)
                    {
                        char next = sd[i];
                        if (next is '"' or '\\' or ']')
                        {
                            value.Append(next);
                            i++;
                            continue;
                        }

                        if (next == 'x' && i + 2 < sd.Length && int.TryParse(sd.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code))
                        {
                            value.Append((char)code);
                            i += 3;
                            continue;
                        }
                    }

                    value.Append(c);
                }

                parameters.Add(new(name, value.ToString()));
            }

            elements.Add(new ParsedSdElement(id, parameters));
        }

        return elements;
    }

    private static void Expect(string sd, ref int i, char c)
    {
        if (i >= sd.Length || sd[i] != c)
        {
            throw new FormatException($"expected '{c}' at {i} in {sd[..Math.Min(sd.Length, 200)]}");
        }

        i++;
    }

    private static string Name(string sd, ref int i)
    {
        int start = i;
        while (i < sd.Length && sd[i] > ' ' && sd[i] < 127 && sd[i] is not ('=' or ']' or '"'))
        {
            i++;
        }

        if (i == start || i - start > 32)
        {
            throw new FormatException($"bad SD-NAME at {start}: {sd[start..Math.Min(sd.Length, start + 40)]}");
        }

        return sd[start..i];
    }
}
