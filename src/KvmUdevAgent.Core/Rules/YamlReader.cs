using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// Reads one YAML document into <see cref="YamlNode"/>s. Syntax errors become one diagnostic at
/// YamlDotNet's mark; structural problems (aliases, non-scalar keys, duplicate keys) are reported
/// and reading goes on, so one pass finds them all.
/// </summary>
internal sealed class YamlReader
{
    private readonly string _file;
    private readonly List<RuleDiagnostic> _diagnostics;
    private readonly Parser _parser;

    private YamlReader(string file, string text, List<RuleDiagnostic> diagnostics)
    {
        _file = file;
        _diagnostics = diagnostics;
        _parser = new Parser(new StringReader(text));
    }

    /// <summary>The root node, or null for an empty file or a syntax error (reported).</summary>
    public static YamlNode? Read(string file, string text, List<RuleDiagnostic> diagnostics)
    {
        var reader = new YamlReader(file, text, diagnostics);
        try
        {
            return reader.ReadStream();
        }
        catch (YamlException e)
        {
            string message = e.InnerException is YamlException inner ? inner.Message : e.Message;
            diagnostics.Add(new RuleDiagnostic(file, (int)e.Start.Line, (int)e.Start.Column, Severity.Error, DiagnosticCodes.YamlSyntax,
                "YAML syntax: " + TrimMessage(message)));
            return null;
        }
    }

    private static string TrimMessage(string message)
    {
        // YamlDotNet prefixes "(Line: 3, Col: 5, Idx: 20) - (Line: ...): "; we print our own position.
        int dash = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line:", StringComparison.Ordinal) && dash > 0 ? message[(dash + 3)..] : message;
    }

    private static SourcePosition At(ParsingEvent e) => new((int)e.Start.Line, (int)e.Start.Column);

    private YamlNode? ReadStream()
    {
        _parser.Consume<StreamStart>();
        if (_parser.TryConsume<StreamEnd>(out _))
        {
            return null;
        }

        _parser.Consume<DocumentStart>();
        YamlNode root = ReadNode();
        _parser.Consume<DocumentEnd>();
        if (_parser.Accept<DocumentStart>(out var second))
        {
            _diagnostics.Add(new RuleDiagnostic(_file, At(second).Line, At(second).Column, Severity.Error, DiagnosticCodes.YamlSyntax,
                "a rule file holds one YAML document; put further rules in the same 'rules:' list"));
        }

        return root;
    }

    private YamlNode ReadNode()
    {
        ParsingEvent e = _parser.Current ?? throw new YamlException("unexpected end of input");
        switch (e)
        {
            case AnchorAlias alias:
                _parser.MoveNext();
                _diagnostics.Add(Error(At(alias), DiagnosticCodes.AliasNotSupported, "YAML aliases (*name) are not supported in rule files; write the value out"));
                return new YamlScalar(At(alias), string.Empty, isPlain: true);
            case Scalar scalar:
                _parser.MoveNext();
                return new YamlScalar(At(scalar), scalar.Value, scalar.Style == ScalarStyle.Plain);
            case SequenceStart start:
                {
                    _parser.MoveNext();
                    var items = new List<YamlNode>();
                    while (!_parser.TryConsume<SequenceEnd>(out _))
                    {
                        items.Add(ReadNode());
                    }

                    return new YamlSequence(At(start), items);
                }

            case MappingStart start:
                {
                    _parser.MoveNext();
                    var entries = new List<KeyValuePair<YamlScalar, YamlNode>>();
                    HashSet<string>? seen = null;
                    while (!_parser.TryConsume<MappingEnd>(out _))
                    {
                        YamlNode key = ReadNode();
                        YamlNode value = ReadNode();
                        if (key is not YamlScalar scalarKey)
                        {
                            _diagnostics.Add(Error(key.Position, DiagnosticCodes.NotAScalar, "a mapping key must be a plain word, not " + key.KindName));
                            continue;
                        }

                        if (!IsNewKey(entries, ref seen, scalarKey.Value))
                        {
                            _diagnostics.Add(Error(key.Position, DiagnosticCodes.DuplicateKey, $"duplicate key '{scalarKey.Value}'; the first one is used"));
                            continue;
                        }

                        entries.Add(new(scalarKey, value));
                    }

                    return new YamlMapping(At(start), entries);
                }

            default:
                throw new YamlException(e.Start, e.End, "unexpected " + e.GetType().Name);
        }
    }

    /// <summary>
    /// Whether <paramref name="key"/> is not yet among <paramref name="entries"/>. Rule mappings hold a
    /// handful of keys, so they are compared in place; a set is built only for a large mapping
    /// (issue 15: a set per mapping was a tenth of what reading the rules allocated).
    /// </summary>
    private static bool IsNewKey(List<KeyValuePair<YamlScalar, YamlNode>> entries, ref HashSet<string>? seen, string key)
    {
        const int LinearLimit = 16;
        if (seen is null && entries.Count < LinearLimit)
        {
            foreach (KeyValuePair<YamlScalar, YamlNode> entry in entries)
            {
                if (string.Equals(entry.Key.Value, key, StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }

        if (seen is null)
        {
            seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (KeyValuePair<YamlScalar, YamlNode> entry in entries)
            {
                seen.Add(entry.Key.Value);
            }
        }

        return seen.Add(key);
    }

    private RuleDiagnostic Error(SourcePosition at, string code, string message) =>
        new(_file, at.Line, at.Column, Severity.Error, code, message);
}
