using System.Globalization;
using System.Text;
using KvmUdevAgent.Core.Agent;
using KvmUdevAgent.Core.Rules;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Compact;
using Serilog.Formatting.Display;
using Serilog.Parsing;

namespace KvmUdevAgent.Daemon;

/// <summary>
/// A line of the daemon's stderr log, as text (<see cref="TextTemplate"/>) or compact JSON, formatted by
/// Serilog's formatters, except the text of a plan line (<see cref="PlanText"/>, issue 15): that one is
/// written here, straight into the writer's buffer, with the same text as Serilog's template would give
/// (the test beside this one compares them on arbitrary strings). A plan's text is made into a string
/// only for the formatters that need one (JSON, a line this does not cover).
/// </summary>
/// <remarks>
/// Used by the sink's writer thread only (one line at a time). Kept between lines: the template's tokens
/// (a <c>[LoggerMessage]</c> line's template is parsed once and comes back as the same object), the array
/// its property values are looked up into (once each), and the builder the line is made in.
/// </remarks>
internal sealed class StderrLineFormatter : ITextFormatter, IDisposable
{
    /// <summary>The text format's line: level, message with strings as they are, exception if any.</summary>
    public const string TextTemplate = "{Level:u3} {Message:lj}{NewLine}{Exception}";

    // The line builder's size kept between lines (as DescriptionText's).
    private const int MaxKeptCapacity = 4096;

    // The plan line's template (PlanLine), when the text format can write it itself: no format, no alignment,
    // only the line's own properties (else the line goes through its LogEvent, as any other).
    private static readonly MessageTemplateToken[]? s_planTokens = PlanTokens();

    private readonly ITextFormatter _formatter;
    private readonly bool _text;
    private readonly StringWriter _line = new(CultureInfo.InvariantCulture);
    private MessageTemplate? _template;
    private MessageTemplateToken[] _tokens = [];
    private object?[] _values = [];
    private readonly object?[] _planValues = new object?[s_planTokens?.Length ?? 0];

    public StderrLineFormatter(LogFormat format)
    {
        _text = format == LogFormat.Text;
        _formatter = _text ? new MessageTemplateTextFormatter(TextTemplate, CultureInfo.InvariantCulture) : new CompactJsonFormatter();
    }

    public void Format(LogEvent logEvent, TextWriter output)
    {
        if (_text && TryWritePlanLine(logEvent, output))
        {
            return;
        }

        RenderDeferredText(logEvent);
        _formatter.Format(logEvent, output);
    }

    /// <summary>
    /// A plan's line as the pipeline said it: in the text format written here from its parts, with the
    /// text <see cref="Format(LogEvent, TextWriter)"/> gives its event; else its event, formatted.
    /// </summary>
    public void Format(PlanLine line, TextWriter output)
    {
        if (!_text || s_planTokens is not { } tokens)
        {
            Format(line.ToLogEvent(), output);
            return;
        }

        object?[] values = _planValues;
        for (int i = 0; i < tokens.Length; i++)
        {
            if (tokens[i] is PropertyToken property)
            {
                values[i] = line.ValueOf(property.PropertyName);
            }
        }

        WriteLine(tokens, values, output);
    }

    public void Dispose() => _line.Dispose();

    /// <summary>
    /// <see cref="TextTemplate"/> for an information line without exception whose message's properties are
    /// strings and at least one plan, none with a format or alignment: <c>INF </c>, the message (a string
    /// as it is, as <c>:l</c> renders it; the plan through <see cref="PlanText.WriteTo"/>), a new line.
    /// Any other line is left to Serilog's formatter, untouched.
    /// </summary>
    private bool TryWritePlanLine(LogEvent logEvent, TextWriter output)
    {
        if (logEvent.Level != LogEventLevel.Information || logEvent.Exception is not null)
        {
            return false;
        }

        MessageTemplateToken[] tokens = TokensOf(logEvent.MessageTemplate);
        object?[] values = _values;
        bool hasPlan = false;
        for (int i = 0; i < tokens.Length; i++)
        {
            if (tokens[i] is PropertyToken property)
            {
                if (property.Format is not null || property.Alignment is not null
                    || !logEvent.Properties.TryGetValue(property.PropertyName, out LogEventPropertyValue? value)
                    || value is not ScalarValue { Value: string or PlanText } scalar)
                {
                    return false;
                }

                values[i] = scalar.Value;
                hasPlan |= scalar.Value is PlanText;
            }
        }

        if (!hasPlan)
        {
            Array.Clear(values);
            return false;
        }

        WriteLine(tokens, values, output);
        return true;
    }

    /// <summary>
    /// <c>INF </c>, the template's text and <paramref name="values"/> (strings as they are; a plan through
    /// <see cref="PlanText"/>), a new line; clears <paramref name="values"/>.
    /// </summary>
    private void WriteLine(MessageTemplateToken[] tokens, object?[] values, TextWriter output)
    {
        // Made whole in a builder kept from line to line, then copied: a plan that cannot be described
        // (it throws) leaves no half line behind, as when its text was made before the line.
        StringBuilder line = _line.GetStringBuilder().Clear();
        _line.Write("INF ");
        for (int i = 0; i < tokens.Length; i++)
        {
            if (tokens[i] is TextToken text)
            {
                _line.Write(text.Text);
            }
            else if (values[i] is PlanText planText)
            {
                planText.WriteTo(_line);
            }
            else if (values[i] is Plan plan)
            {
                PlanText.Write(plan, _line);
            }
            else
            {
                _line.Write((string)values[i]!);
            }
        }

        Array.Clear(values);
        _line.WriteLine();
        output.Write(line);
        if (line.Capacity > MaxKeptCapacity)
        {
            // A line grown by a huge hostile value is not kept at that size for the daemon's life.
            line.Clear().Capacity = MaxKeptCapacity;
        }
    }

    private static MessageTemplateToken[]? PlanTokens()
    {
        MessageTemplateToken[] tokens = [.. PlanLine.Template.Tokens];
        foreach (MessageTemplateToken token in tokens)
        {
            if (token is PropertyToken property && (property.Format is not null || property.Alignment is not null || property.PropertyName
                is not (PlanLine.ActionProperty or PlanLine.DevPathProperty or PlanLine.PlanProperty)))
            {
                return null;
            }
        }

        return tokens;
    }

    private MessageTemplateToken[] TokensOf(MessageTemplate template)
    {
        if (!ReferenceEquals(template, _template))
        {
            _tokens = [.. template.Tokens];
            _values = new object?[_tokens.Length];
            _template = template;
        }

        return _tokens;
    }

    /// <summary>
    /// A plan kept as its object becomes its text, for Serilog's formatters: as text it renders as any
    /// string property does (unquoted in the text message, a JSON string in JSON).
    /// </summary>
    private static void RenderDeferredText(LogEvent logEvent)
    {
        foreach (KeyValuePair<string, LogEventPropertyValue> property in logEvent.Properties)
        {
            if (property.Value is ScalarValue { Value: PlanText text })
            {
                logEvent.AddOrUpdateProperty(new LogEventProperty(property.Key, new ScalarValue(text.ToString())));
                return;
            }
        }
    }
}
