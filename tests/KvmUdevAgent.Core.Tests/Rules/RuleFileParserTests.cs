using KvmUdevAgent.Core.Rules;

namespace KvmUdevAgent.Core.Tests.Rules;

public sealed class RuleFileParserTests
{
    public static TheoryData<string> BadFiles => RuleCorpus.Files("bad");

    public static TheoryData<string> GoodFiles => RuleCorpus.Files("good");

    [Fact]
    public void BadCorpus_HasAtLeastFiftyFilesEachWithExpectations()
    {
        string[] files = Directory.GetFiles(RuleCorpus.Directory("bad"), "*.yaml");
        Assert.True(files.Length >= 50, $"only {files.Length} bad rule files");
        Assert.All(files, f => Assert.True(File.Exists(Path.ChangeExtension(f, ".expected")), f));
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Rejects_BadFile_WithExpectedDiagnostics(string name)
    {
        string path = Path.Combine(RuleCorpus.Directory("bad"), name);
        var result = new RuleSetLoader(RuleCorpus.KnownVms, permissions: null).LoadTexts([(name, File.ReadAllText(path))], 1);

        string actual = string.Concat(result.Diagnostics.Select(d => $"{d.File}:{d.Line}:{d.Column}: {d.Code}\n"));
        Assert.Equal(File.ReadAllText(Path.ChangeExtension(path, ".expected")), actual);
        Assert.True(!result.Succeeded || !result.Diagnostics.IsEmpty, "a bad file must fail, warn or note");
        Assert.All(result.Diagnostics, d => Assert.False(string.IsNullOrWhiteSpace(d.Message)));
    }

    [Theory]
    [MemberData(nameof(GoodFiles))]
    public void Accepts_GoodFile_AndRoundTripsThroughShow(string name)
    {
        string path = Path.Combine(RuleCorpus.Directory("good"), name);
        var first = new RuleSetLoader(RuleCorpus.KnownVms, null).LoadTexts([(name, File.ReadAllText(path))], 1);
        Assert.True(first.Succeeded, string.Join('\n', first.Diagnostics));
        Assert.Empty(first.Diagnostics);

        string shown = RuleWriter.Write(first.RuleSet.Definitions);
        var second = new RuleSetLoader(RuleCorpus.KnownVms, null).LoadTexts([(name, shown)], 2);
        Assert.True(second.Succeeded, shown + "\n" + string.Join('\n', second.Diagnostics));
        Assert.True(first.RuleSet.Definitions.SequenceEqual(second.RuleSet.Definitions), shown);
        Assert.Equal(shown, RuleWriter.Write(second.RuleSet.Definitions));
    }

    [Fact]
    public void Examples_AndShippedRules_AreInTheGoodCorpus()
    {
        string? root = AppContext.BaseDirectory;
        while (root is not null && !File.Exists(Path.Combine(root, "KvmUdevAgent.sln")))
        {
            root = Path.GetDirectoryName(root);
        }

        Assert.NotNull(root);
        string[] shipped = [.. Directory.GetFiles(Path.Combine(root, "examples"), "*.yaml"), .. Directory.GetFiles(Path.Combine(root, "rules"), "*.yaml")];
        Assert.Equal(4, shipped.Length);
        Assert.All(shipped, f => Assert.Equal(File.ReadAllText(f), File.ReadAllText(Path.Combine(RuleCorpus.Directory("good"), Path.GetFileName(f)))));
    }

    [Fact]
    public void Rejects_UnknownMatchKey_WithDidYouMean()
    {
        var document = RuleFileParser.Parse("rules/10-flash.yaml", "rules:\n  - name: a\n    match:\n      subsystem: usb\n      vendr: \"058f\"\n    attach: { vm: winxp }\n");

        RuleDiagnostic error = Assert.Single(document.Diagnostics);
        Assert.Equal("rules/10-flash.yaml:5:7: error: unknown match key 'vendr'; did you mean 'vendor'? [KUR011]", error.ToString());
    }

    [Fact]
    public void Rejects_UnknownTemplate_NamingTheAlternatives()
    {
        var document = RuleFileParser.Parse("f.yaml", "rules:\n  - name: a\n    match: { subsystem: usb }\n    hook: { run: [/bin/echo, \"{serail}\"] }\n");

        RuleDiagnostic error = Assert.Single(document.Diagnostics);
        Assert.Equal(
            "f.yaml:4:31: error: unknown template name '{serail}'; did you mean '{serial}'?; expected one of: {devnode}, {fs_label}, {fs_type}, {fs_uuid}, {kernel}, {product}, {serial}, {vendor}, {props.NAME}, {attrs.NAME} [KUR050]",
            error.ToString());
    }
}
