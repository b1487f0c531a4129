namespace KvmUdevAgent.Core.Tests.Rules;

/// <summary>The repository root, where the checked-in generated documents (docs/rules.md, README.md) are.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = System.IO.Path.GetDirectoryName(dir))
        {
            if (File.Exists(System.IO.Path.Combine(dir, "KvmUdevAgent.sln")))
            {
                return dir;
            }
        }

        throw new DirectoryNotFoundException("repository root (KvmUdevAgent.sln) not found above " + AppContext.BaseDirectory);
    }
}
