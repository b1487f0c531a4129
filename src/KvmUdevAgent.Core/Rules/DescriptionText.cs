using System.Globalization;

namespace KvmUdevAgent.Core.Rules;

/// <summary>
/// A description made piece by piece (<see cref="PlannedAction.Describe(TextWriter)"/>) into a builder
/// kept per thread, so that making it a string costs that string only (the audit describes every routed
/// plan, the JSON log every plan line). <see cref="Start"/> and <see cref="Finish"/> pair up on one
/// thread and never nest.
/// </summary>
internal static class DescriptionText
{
    /// <summary>A builder grown past this (a huge hostile value) is dropped rather than kept.</summary>
    private const int MaxKeptCapacity = 4096;

    [ThreadStatic]
    private static StringWriter? t_writer;

    /// <summary>This thread's writer, empty.</summary>
    public static StringWriter Start()
    {
        StringWriter writer = t_writer ??= new StringWriter(CultureInfo.InvariantCulture);
        writer.GetStringBuilder().Clear();
        return writer;
    }

    /// <summary>What was written since <see cref="Start"/>.</summary>
    public static string Finish(StringWriter writer)
    {
        string text = writer.ToString();
        if (writer.GetStringBuilder().Capacity > MaxKeptCapacity)
        {
            t_writer = null;
        }

        return text;
    }
}
