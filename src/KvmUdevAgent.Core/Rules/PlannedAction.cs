using System.Text.Json.Serialization;

namespace KvmUdevAgent.Core.Rules;

/// <summary>One resolved action of a <see cref="Plan"/>, naming the rule it comes from.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(PlannedAttach), "attach")]
[JsonDerivedType(typeof(PlannedDetach), "detach")]
[JsonDerivedType(typeof(PlannedMount), "mount")]
[JsonDerivedType(typeof(PlannedUnmount), "unmount")]
[JsonDerivedType(typeof(PlannedHook), "hook")]
internal abstract record PlannedAction(string Rule)
{
    /// <summary>One line for people: <c>attach to winxp as usb-host</c>.</summary>
    public string Describe()
    {
        StringWriter text = DescriptionText.Start();
        Describe(text);
        return DescriptionText.Finish(text);
    }

    /// <summary>
    /// <see cref="Describe()"/>, written piece by piece into <paramref name="output"/> with no string of
    /// its own: the log writer puts a plan's line straight into its buffer (issue 15).
    /// </summary>
    public abstract void Describe(TextWriter output);
}
