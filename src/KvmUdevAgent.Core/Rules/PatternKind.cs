namespace KvmUdevAgent.Core.Rules;

/// <summary>How a pattern is matched, decided once at compile time; listed cheapest first.</summary>
internal enum PatternKind
{
    /// <summary><c>*</c>: any present value.</summary>
    Any,
    /// <summary><c>""</c>: the value is absent or empty.</summary>
    Empty,
    /// <summary>No metacharacters: ordinal equality with one of the alternatives.</summary>
    Exact,
    /// <summary>fnmatch(3) against one of the alternatives.</summary>
    Glob,
}
