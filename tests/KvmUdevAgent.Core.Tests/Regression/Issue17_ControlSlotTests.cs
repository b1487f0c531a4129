using System.Runtime.Versioning;
using KvmUdevAgent.Core.Control;
using KvmUdevAgent.Core.Tests.Control;

namespace KvmUdevAgent.Core.Tests.Regression;

/// <summary>
/// Issue 17, defect 6: a read-only member of <c>control_group</c> held every control-socket slot by
/// keeping 16 connections open and sending a blank line now and then (each restarted the idle
/// timer); root's <c>reload</c> was then refused as "too many clients". The attacker here is a real
/// process running as uid 65534 with the control group as a supplementary group.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class Issue17_ControlSlotTests
{
    private const uint TestGroup = 64998; // a gid with no /etc/group entry: the test touches no system group
    private const int Attempts = 16; // every slot of a default server
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Issue17_MemberHoldsSlotsWithBlankLines_RootServedAndBlankOnlyConnectionsClosed()
    {
        using ControlTestDir dir = new();
        ControlServerOptions options = new() { SocketPath = dir.Socket, GroupId = TestGroup, IdleTimeout = TimeSpan.FromSeconds(2) };
        await using ControlServer server = await ControlServer.StartAsync(options, new RecordingHandler()).WaitAsync(s_timeout);
        List<PeerSession> peers = [];
        using CancellationTokenSource stopBlanks = new();
        Task blanks = Task.CompletedTask;
        try
        {
            List<PeerSession> admitted = [];
            for (int i = 0; i < Attempts; i++)
            {
                PeerSession peer = PeerProcess.Open(dir.Socket, PeerProcess.Nobody, PeerProcess.Nobody, [TestGroup]);
                peers.Add(peer);
                Assert.True(await peer.TryWriteLineAsync("""{"id":1,"verb":"status"}"""), "socat could not connect as nobody");
                string? answer = await peer.ReadLineAsync(s_timeout);
                if (answer is null)
                {
                    // Refused and closed before socat could print the refusal (it died writing the request).
                    Assert.True(await peer.WaitExitAsync(s_timeout), "no answer, yet the connection is open");
                }
                else if (answer.Contains("\"ok\":true", StringComparison.Ordinal))
                {
                    admitted.Add(peer);
                }
                else
                {
                    Assert.Contains("\"code\":\"busy\"", answer, StringComparison.Ordinal);
                }
            }

            // The attacker's keep-alive: a blank line on every connection it holds, well inside the idle timeout.
            blanks = Task.Run(async () =>
            {
                while (!stopBlanks.IsCancellationRequested)
                {
                    foreach (PeerSession peer in admitted)
                    {
                        await peer.TryWriteLineAsync(string.Empty);
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(400), stopBlanks.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                }
            });

            await using (ControlClient root = await ControlClient.ConnectAsync(dir.Socket, s_timeout))
            {
                ControlResponse reload = await root.SendAsync(ControlVerbs.Reload).WaitAsync(s_timeout);
                Assert.True(reload.Ok, "root was refused while uid 65534 held the slots: " + reload.Error);
            }

            Assert.NotEmpty(admitted);
            Assert.True(admitted.Count < Attempts, "one uid was given every slot");

            // Blank lines are not activity: every connection that sends nothing else is closed.
            foreach (PeerSession peer in admitted)
            {
                Assert.True(await peer.WaitExitAsync(s_timeout), "a connection that only sends blank lines was kept open");
            }
        }
        finally
        {
            await stopBlanks.CancelAsync();
            await blanks;
            peers.ForEach(p => p.Dispose());
        }
    }
}
