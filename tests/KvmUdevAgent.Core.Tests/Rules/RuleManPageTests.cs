using KvmUdevAgent.Core.Rules;
using KvmUdevAgent.Core.Tests.Devices;

namespace KvmUdevAgent.Core.Tests.Rules;

/// <summary>
/// kvm-udev-agent.rules(5) and docs/rules.md come from the same key table: the manual page is a
/// rendering of the generated Markdown, so rendering the checked-in docs/rules.md gives exactly the
/// page the binary ships (and RuleReferenceTests keeps that file equal to the table).
/// </summary>
public sealed class RuleManPageTests
{
    [Fact]
    public void Render_CheckedInRulesMarkdown_IsThePageTheBinaryShips()
    {
        string root = RepositoryRoot.Path;
        string fromDocs = RuleManPage.Render(File.ReadAllText(Path.Combine(root, "docs", "rules.md")), "1.0.0");
        Assert.True(fromDocs == RuleManPage.Generate("1.0.0"),
            "docs/rules.md and kvm-udev-agent.rules(5) differ; regenerate docs/rules.md: KUA_UPDATE_DOCS=1 dotnet test tests/KvmUdevAgent.Core.Tests --filter RuleReferenceTests");
    }

    [Fact]
    public void Generate_EveryMatchKeyTemplateAndDiagnosticCode_HasItsEntry()
    {
        string man = RuleManPage.Generate("1.0.0");
        Assert.All(MatchKeys.All, k =>
        {
            Assert.Contains(".TP\n" + Roff.Bold(k.Name) + "\n", man, StringComparison.Ordinal);
            Assert.Contains(Roff.Text(k.Description.TrimEnd('.')), man, StringComparison.Ordinal);
        });
        Assert.All(TemplateNames.All, t => Assert.Contains(Roff.Bold("{" + t + "}"), man, StringComparison.Ordinal));
        Assert.All(DiagnosticCodes.All, d => Assert.Contains(".TP\n" + d.Code + "\n", man, StringComparison.Ordinal));
        Assert.StartsWith(".TH KVM\\-UDEV\\-AGENT.RULES 5 ", man, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_ManRendersIt_WithoutGroffWarnings()
    {
        string file = Path.Combine(Path.GetTempPath(), "kua-rules-" + Guid.NewGuid().ToString("N") + ".5");
        File.WriteAllText(file, RuleManPage.Generate("1.0.0"));
        try
        {
            // man-db's check (what lintian runs); its warnings on stderr are all this keeps.
            ToolRunner.Require("man", "man-db");
            string warnings = ToolRunner.Run("sh", "dash", "-c", "man --warnings -E UTF-8 -l -Tutf8 -Z \"$1\" 2>&1 >/dev/null", "sh", file);
            Assert.Equal("", warnings);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
