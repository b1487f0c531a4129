namespace KvmUdevAgent.Core.Tests.Rules;

/// <summary>The rule corpora under tests/Data/rules and the VM names they assume.</summary>
internal static class RuleCorpus
{
    public static readonly IReadOnlySet<string> KnownVms = new HashSet<string>(StringComparer.Ordinal) { "winxp", "win10" };

    public static string Directory(string name) => Path.Combine(AppContext.BaseDirectory, "Data", "rules", name);

    public static TheoryData<string> Files(string name)
    {
        var data = new TheoryData<string>();
        foreach (string file in System.IO.Directory.EnumerateFiles(Directory(name), "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }
}
