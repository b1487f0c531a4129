using System.Collections.Immutable;
using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Agent;

/// <summary>
/// A plan as its log line shows it (<c>DESCRIPTION (rule NAME); …</c>), built only when the line is
/// rendered. The daemon's stderr log keeps it as a scalar (<c>Destructure.AsScalar</c>) and its text
/// format writes it straight into the writer's buffer on the log's own thread (<see cref="WriteTo"/>),
/// not on the event path and through no string of its own; any other logger renders it through
/// <see cref="ToString"/> when the line is written, as before. A <see cref="Plan"/> is immutable, so
/// rendering it later, on another thread, shows the same text.
/// </summary>
internal sealed class PlanText(Plan plan)
{
    public void WriteTo(TextWriter output) => Write(plan, output);

    /// <summary><paramref name="plan"/>'s text, written into <paramref name="output"/>.</summary>
    public static void Write(Plan plan, TextWriter output)
    {
        ImmutableArray<PlannedAction> actions = plan.Actions;
        for (int i = 0; i < actions.Length; i++)
        {
            if (i > 0)
            {
                output.Write("; ");
            }

            actions[i].Describe(output);
            output.Write(" (rule ");
            output.Write(actions[i].Rule);
            output.Write(')');
        }
    }

    public override string ToString()
    {
        StringWriter text = DescriptionText.Start();
        WriteTo(text);
        return DescriptionText.Finish(text);
    }
}
