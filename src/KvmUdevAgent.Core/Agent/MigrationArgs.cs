using System.Text.Json;
using KvmUdevAgent.Core.Control;

namespace KvmUdevAgent.Core.Agent;

/// <summary>Reads the <c>migrate</c> verb's arguments: <c>vm</c>, <c>uri</c>, optional <c>timeout_seconds</c> (&gt; 0) and <c>return_path</c>.</summary>
internal static class MigrationArgs
{
    public static MigrationRequest Read(JsonElement args)
    {
        string vm = AgentControlHandler.RequiredString(args, "vm");
        string uri = AgentControlHandler.RequiredString(args, "uri");
        TimeSpan? timeout = null;
        if (args.TryGetProperty("timeout_seconds", out JsonElement t) && t.ValueKind != JsonValueKind.Null)
        {
            timeout = t.ValueKind == JsonValueKind.Number && t.TryGetDouble(out double seconds) && seconds > 0 && seconds <= 7 * 24 * 3600
                ? TimeSpan.FromSeconds(seconds)
                : throw new ControlException(ControlErrorCodes.InvalidArgument, "'timeout_seconds' must be a number of seconds greater than 0");
        }

        bool returnPath = args.TryGetProperty("return_path", out JsonElement r) && r.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False or JsonValueKind.Null => false,
            _ => throw new ControlException(ControlErrorCodes.InvalidArgument, "'return_path' must be true or false"),
        };
        return new MigrationRequest(vm, uri, timeout, returnPath);
    }
}
