using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Tests.Rules;

public sealed class RuleFileEditorTests
{
    private const string Text = "# my rules\nrules:\n  # the first\n  - name: a\n    match: { subsystem: usb }  # usb only\n    hook: { run: [/bin/true] }\n\n  # the second\n  - name: b\n    enabled: true\n    match: { subsystem: block }\n    hook: { run: [/bin/true] }\n";

    [Fact]
    public void TrySetEnabled_NoEnabledKey_InsertsLineAfterName()
    {
        Assert.True(RuleFileEditor.TrySetEnabled("f", Text, "a", false, out string? edited, out _));
        Assert.Equal(Text.Replace("  - name: a\n", "  - name: a\n    enabled: false\n", StringComparison.Ordinal), edited);
        Assert.False(RuleFileParser.Parse("f", edited).Rules[0].Enabled);
    }

    [Fact]
    public void TrySetEnabled_ExistingKey_ReplacesValueOnly()
    {
        Assert.True(RuleFileEditor.TrySetEnabled("f", Text, "b", false, out string? edited, out _));
        Assert.Equal(Text.Replace("enabled: true", "enabled: false", StringComparison.Ordinal), edited);
    }

    [Fact]
    public void TryRemove_FirstRule_KeepsOtherRuleAndComments()
    {
        Assert.True(RuleFileEditor.TryRemove("f", Text, "a", out string? edited, out _));
        Assert.Equal("# my rules\nrules:\n\n  # the second\n  - name: b\n    enabled: true\n    match: { subsystem: block }\n    hook: { run: [/bin/true] }\n", edited);
    }

    [Fact]
    public void TryRemove_LastRemainingRule_LeavesEmptyList()
    {
        Assert.True(RuleFileEditor.TryRemove("f", "rules:\n  - name: a\n    match: { subsystem: usb }\n    hook: { run: [/bin/true] }\n", "a", out string? edited, out _));
        Assert.Equal("rules: []\n", edited);
    }

    [Fact]
    public void TryRemove_UnknownRule_SaysSo()
    {
        Assert.False(RuleFileEditor.TryRemove("f", Text, "zzz", out _, out string? reason));
        Assert.Equal("no rule named 'zzz' in f", reason);
    }

    [Fact]
    public void TrySetEnabled_FlowStyleRule_RefusedWithReason()
    {
        const string flow = "rules:\n  - { name: a, match: { subsystem: usb }, hook: { run: [/bin/true] } }\n";

        Assert.False(RuleFileEditor.TrySetEnabled("f", flow, "a", false, out _, out string? reason));
        Assert.Equal("rule 'a' is written in flow style ({...}); edit it by hand", reason);
    }
}
