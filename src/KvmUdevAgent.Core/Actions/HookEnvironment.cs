using Tmds.Linux;

namespace KvmUdevAgent.Core.Actions;

/// <summary>Checks a <see cref="HookRequest"/> and builds the exact argv and environment the hook gets.</summary>
internal static class HookEnvironment
{
    /// <summary>More is a mistake in a rule, and both arrays are built on the stack.</summary>
    public const int MaxEntries = 1024;

    /// <summary>
    /// Fails with a reason when the timeout is not positive, argv is empty or too long, <c>argv[0]</c> is not an absolute
    /// path to an existing, executable regular file, any argument contains NUL (it cannot be
    /// passed through exec), a variable name is not <c>KUA_[A-Z0-9_]+</c>, or a value contains
    /// NUL. Values are otherwise passed verbatim: quotes, <c>$(…)</c>, backticks, newlines.
    /// </summary>
    public static bool TryBuild(HookRequest request, out string[] argv, out string[] environment, out string reason)
    {
        argv = [];
        environment = [];
        var args = request.Argv.IsDefault ? [] : request.Argv;
        if (args.Length == 0 || args.Length > MaxEntries)
        {
            reason = args.Length == 0 ? "hook has no program" : $"hook has more than {MaxEntries} arguments";
            return false;
        }
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is null || args[i].Contains('\0', StringComparison.Ordinal))
            {
                reason = $"hook argument {i} contains NUL";
                return false;
            }
        }
        if ((request.Timeout <= TimeSpan.Zero && request.Timeout != Timeout.InfiniteTimeSpan) || request.KillGrace < TimeSpan.Zero
            || request.Timeout.TotalMilliseconds > int.MaxValue || request.KillGrace.TotalMilliseconds > int.MaxValue)
        {
            reason = "hook timeout must be positive (or infinite) and the kill grace not negative";
            return false;
        }
        var program = args[0];
        if (!program.StartsWith('/'))
        {
            reason = $"hook program '{program}' is not an absolute path (there is no PATH lookup)";
            return false;
        }
        if (!IsExecutableFile(program, out reason))
        {
            return false;
        }
        if (request.Environment.Count + HookDefaults.BaseEnvironment.Length > MaxEntries)
        {
            reason = $"hook has more than {MaxEntries} environment variables";
            return false;
        }
        var env = new List<string>(HookDefaults.BaseEnvironment.Length + request.Environment.Count);
        foreach (var (name, value) in HookDefaults.BaseEnvironment)
        {
            env.Add(name + "=" + value);
        }
        foreach (var (name, value) in request.Environment.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!IsValidName(name))
            {
                reason = $"environment variable name '{name}' must match {HookDefaults.EnvironmentPrefix}[A-Z0-9_]+";
                return false;
            }
            if (value is null || value.Contains('\0', StringComparison.Ordinal))
            {
                reason = $"environment variable {name} contains NUL";
                return false;
            }
            env.Add(name + "=" + value);
        }
        argv = [.. args];
        environment = [.. env];
        reason = "";
        return true;
    }

    private static bool IsValidName(string name)
    {
        if (name is null || name.Length <= HookDefaults.EnvironmentPrefix.Length || !name.StartsWith(HookDefaults.EnvironmentPrefix, StringComparison.Ordinal))
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_'))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsExecutableFile(string path, out string reason)
    {
        if (!MountDeviceNode.TryStat(path, out var st))
        {
            reason = $"hook program '{path}' does not exist";
            return false;
        }
        if (!LibC.S_ISREG(st.st_mode))
        {
            reason = $"hook program '{path}' is not a regular file";
            return false;
        }
        if (((uint)st.st_mode & (uint)(LibC.S_IXUSR | LibC.S_IXGRP | LibC.S_IXOTH)) == 0)
        {
            reason = $"hook program '{path}' is not executable (chmod +x)";
            return false;
        }
        reason = "";
        return true;
    }
}
