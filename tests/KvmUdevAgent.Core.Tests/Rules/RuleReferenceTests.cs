using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Tests.Rules;

public sealed class RuleReferenceTests
{
    [Fact]
    public void Docs_RulesMarkdown_IsGeneratedFromTheKeyTable()
    {
        string root = RepositoryRoot.Path;
        string path = Path.Combine(root, "docs", "rules.md");
        string expected = RuleReference.Generate();
        if (Environment.GetEnvironmentVariable("KUA_UPDATE_DOCS") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, expected);
        }

        Assert.True(File.Exists(path) && File.ReadAllText(path) == expected,
            "docs/rules.md is out of date; regenerate it: KUA_UPDATE_DOCS=1 dotnet test tests/KvmUdevAgent.Core.Tests --filter RuleReferenceTests");
    }

    [Fact]
    public void Readme_MatchKeyTable_IsTheGeneratedOne()
    {
        string root = RepositoryRoot.Path;
        string doc = RuleReference.Generate();
        int start = doc.IndexOf("## Match keys", StringComparison.Ordinal);
        int end = doc.IndexOf("\n## ", start + 5, StringComparison.Ordinal);
        string expected = "#" + doc[start..end].Trim('\n');
        string readme = File.ReadAllText(Path.Combine(root, "README.md"));
        int begin = readme.IndexOf("<!-- rule-keys:begin", StringComparison.Ordinal);
        int stop = readme.IndexOf("<!-- rule-keys:end -->", StringComparison.Ordinal);
        Assert.True(begin >= 0 && stop > begin, "README.md has no rule-keys section");
        string actual = readme[(readme.IndexOf('\n', begin) + 1)..stop].Trim('\n');
        Assert.True(expected == actual, "README.md's match key table differs from the generated one; copy the '## Match keys' section of docs/rules.md into it (as '###')");
    }

    [Fact]
    public void Docs_EveryMatchKeyIsListed()
    {
        string doc = RuleReference.Generate();
        Assert.All(MatchKeys.Names, k => Assert.Contains($"| `{k}` |", doc, StringComparison.Ordinal));
    }

    [Fact]
    public void Docs_EveryDiagnosticCodeIsDescribedOnce()
    {
        string[] constants = [.. typeof(DiagnosticCodes).GetFields().Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!)];
        Assert.Equal(constants.Order(StringComparer.Ordinal), DiagnosticCodes.All.Select(c => c.Code).Order(StringComparer.Ordinal));
        Assert.Equal(constants.Length, constants.Distinct(StringComparer.Ordinal).Count());
    }
}
