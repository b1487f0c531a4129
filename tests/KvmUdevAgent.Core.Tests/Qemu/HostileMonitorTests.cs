using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CsCheck;
using KvmUdevAgent.Core.Configuration;
using KvmUdevAgent.Core.Qemu;
using KvmUdevAgent.Core.Tests.Devices;

namespace KvmUdevAgent.Core.Tests.Qemu;

/// <summary>
/// Issue 7, hostile device strings at the monitors, against a real QEMU. Over QMP a generated
/// serial goes to the guest as the <c>serial</c> property: every line written is one valid JSON
/// command whose value is the serial, and QEMU reports back exactly that serial (or refuses the
/// command cleanly). Over HMP the serial is never sent: every line written is the safe charset,
/// and QEMU ends up with nothing the serial could have smuggled in. HmpLine refuses any unsafe value.
/// </summary>
[Collection(QemuTestGroup.Name)]
public sealed partial class HostileMonitorTests : IClassFixture<HmpQemuFixture>
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);
    private readonly HmpQemuFixture _fixture;

    public HostileMonitorTests(HmpQemuFixture fixture)
    {
        _fixture = fixture;
    }

    [GeneratedRegex(@"^[A-Za-z0-9_./=, -]+\z")]
    private static partial Regex SafeHmpLine();

    [GeneratedRegex(@"^[A-Za-z0-9_./-]+\z")]
    private static partial Regex SafeHmpValue();

    private static List<string> Generate(Gen<string> gen, int count)
    {
        var all = new ConcurrentQueue<string>();
        gen.Sample(all.Enqueue, iter: count, threads: 1);
        return [.. all];
    }

    private async Task<QmpConnection> ConnectQmpAsync(Func<Stream, Stream>? wrap = null) =>
        Assert.IsType<QmpConnection>(await MonitorConnector.ConnectAsync(MonitorEndpoint.Unix(_fixture.Qemu.QmpSocket!), MonitorProtocol.Qmp, TimeSpan.FromSeconds(10), wrap, CancellationToken.None).WaitAsync(s_timeout));

    // QEMU serves one client per monitor: the test's own checks go through the support's socket.
    private async Task<QmpConnection> ConnectCheckAsync() =>
        Assert.IsType<QmpConnection>(await MonitorConnector.ConnectAsync(MonitorEndpoint.Unix(_fixture.Qemu.ReadySocket), MonitorProtocol.Qmp, TimeSpan.FromSeconds(10), null, CancellationToken.None).WaitAsync(s_timeout));

    private static async Task<List<string>> PeripheralsAsync(QmpConnection qmp) =>
        [.. (await qmp.QomListAsync("/machine/peripheral", CancellationToken.None)).Select(p => p.Name)];

    [Fact]
    public async Task AttachBlockOverQmp_HostileSerials_OneJsonValueEachAndQemuReportsItVerbatim()
    {
        await using QmpConnection check = await ConnectCheckAsync();
        List<string> before = await PeripheralsAsync(check);
        int attached = 0;
        foreach (string serial in Generate(HostileStrings.Any, 30).Append(HostileStrings.Big("\"}\n{\"execute\":\"quit\"}")))
        {
            RecordingStream? recording = null;
            await using QmpConnection qmp = await ConnectQmpAsync(s => recording = new RecordingStream(s));
            var commands = new MonitorCommands(qmp);
            Assert.True(BlockAttachRequest.TryCreate(_fixture.Loop.DevicePath, BlockDeviceModel.UsbStorage, readOnly: true, serial, serial, null, out BlockAttachRequest? request, out string? reason), reason);
            AttachResult result;
            try
            {
                result = await commands.AttachBlockAsync(request, CancellationToken.None).WaitAsync(s_timeout);
            }
            catch (QmpException e)
            {
                // QEMU may refuse a serial; then cleanly, with nothing left behind.
                Assert.Equal(QmpErrorClasses.GenericError, e.Class);
                Assert.DoesNotContain(request.Id, await PeripheralsAsync(check));
                result = AttachResult.Unknown;
            }

            // Every line the agent wrote is one JSON object; the serial is inside exactly one value (left
            // out only when it holds a noncharacter, which QEMU's parser refuses).
            string? sent = GuestSerial.Choose(serial, BlockDeviceModel.UsbStorage, MonitorProtocol.Qmp).Sent;
            Assert.True(sent == serial || GuestSerial.HasNoncharacter(serial));
            string[] lines = recording!.WrittenText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            bool wroteDeviceAdd = false;
            foreach (string line in lines)
            {
                Assert.DoesNotContain(line, c => c < 0x20);
                using JsonDocument doc = JsonDocument.Parse(line);
                if (doc.RootElement.GetProperty("execute").GetString() == "device_add")
                {
                    Assert.Equal(sent, doc.RootElement.GetProperty("arguments").TryGetProperty("serial", out JsonElement s) ? s.GetString() : null);
                    wroteDeviceAdd = true;
                }
            }

            Assert.True(wroteDeviceAdd, "no device_add was written");
            if (result == AttachResult.Attached)
            {
                attached++;
                Assert.Equal(sent ?? string.Empty, await check.QomGetAsync("/machine/peripheral/" + request.Id, "serial", CancellationToken.None) ?? string.Empty);
                Assert.Equal(DetachResult.Detached, await commands.DetachAsync(request.Id, CancellationToken.None).WaitAsync(s_timeout));
                await commands.WhenDetachFinishedAsync(request.Id).WaitAsync(s_timeout);
            }
        }

        Assert.True(attached >= 20, $"QEMU took only {attached} of 31 serials");
        Assert.Equal(before, await PeripheralsAsync(check));
        Assert.DoesNotContain(await check.ListBlockNodesAsync(CancellationToken.None), n => n.StartsWith(QemuDeviceId.Prefix, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AttachBlockOverQmp_SerialWithNoncharacter_AttachedWithoutItAtOnce()
    {
        // QEMU's JSON parser refuses U+FFFE and its kind and answers without the command's id: sent, the
        // serial would leave device_add unanswered until the timeout (10 s) and the drive unattached.
        await using QmpConnection check = await ConnectCheckAsync();
        List<string> before = await PeripheralsAsync(check);
        foreach (string serial in (string[])["S\uFFFE1", "\uFDD0", "x\uD83F\uDFFFy"])
        {
            RecordingStream? recording = null;
            await using QmpConnection qmp = await ConnectQmpAsync(s => recording = new RecordingStream(s));
            var commands = new MonitorCommands(qmp);
            Assert.True(BlockAttachRequest.TryCreate(_fixture.Loop.DevicePath, BlockDeviceModel.UsbStorage, readOnly: true, serial, serial, null, out BlockAttachRequest? request, out string? reason), reason);

            Assert.Equal(AttachResult.Attached, await commands.AttachBlockAsync(request, CancellationToken.None).WaitAsync(s_timeout));
            Assert.Equal(string.Empty, await check.QomGetAsync("/machine/peripheral/" + request.Id, "serial", CancellationToken.None) ?? string.Empty);
            Assert.DoesNotContain("\"serial\"", recording!.WrittenText, StringComparison.Ordinal);
            Assert.Equal(DetachResult.Detached, await commands.DetachAsync(request.Id, CancellationToken.None).WaitAsync(s_timeout));
            await commands.WhenDetachFinishedAsync(request.Id).WaitAsync(s_timeout);
        }

        Assert.Equal(before, await PeripheralsAsync(check));
    }

    [Fact]
    public async Task AttachBlockOverHmp_HostileSerials_NeverSentOnlySafeLinesWritten()
    {
        await using QmpConnection check = await ConnectCheckAsync();
        List<string> before = await PeripheralsAsync(check);
        foreach (string serial in Generate(HostileStrings.Any, 15))
        {
            RecordingStream? recording = null;
            IMonitorConnection connection = await MonitorConnector.ConnectAsync(MonitorEndpoint.Unix(_fixture.Qemu.HmpSocket!), MonitorProtocol.Auto, TimeSpan.FromSeconds(10), s => recording = new RecordingStream(s), CancellationToken.None).WaitAsync(s_timeout);
            await using HmpConnection hmp = Assert.IsType<HmpConnection>(connection);
            var commands = new MonitorCommands(hmp);
            Assert.True(BlockAttachRequest.TryCreate(_fixture.Loop.DevicePath, BlockDeviceModel.UsbStorage, readOnly: true, serial, serial, null, out BlockAttachRequest? request, out string? reason), reason);

            Assert.Equal(AttachResult.Attached, await commands.AttachBlockAsync(request, CancellationToken.None).WaitAsync(s_timeout));
            // Only a strict serial is sent; any other is left out and QEMU shows its own (empty property).
            string? strict = GuestSerial.Choose(serial, BlockDeviceModel.UsbStorage, MonitorProtocol.Hmp).Sent;
            Assert.Equal(strict ?? string.Empty, await check.QomGetAsync("/machine/peripheral/" + request.Id, "serial", CancellationToken.None) ?? string.Empty);
            Assert.Equal(DetachResult.Detached, await commands.DetachAsync(request.Id, CancellationToken.None).WaitAsync(s_timeout));

            string written = Encoding.ASCII.GetString(recording!.Written);
            Assert.Equal(recording.Written.Length, Encoding.UTF8.GetByteCount(written));
            foreach (string line in written.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Assert.Matches(SafeHmpLine(), line);
                if (strict is null)
                {
                    Assert.DoesNotContain("serial", line, StringComparison.Ordinal);
                }
            }
        }

        Assert.Equal(before, await PeripheralsAsync(check));
    }

    [Fact]
    public void HmpLine_HostileValues_RefusedBeforeAnyByteUnlessInTheSafeCharset()
    {
        Gen.Select(HostileStrings.Any, Gen.Int[0, 2]).Sample((value, where) =>
        {
            HmpLine line = new("device_add");
            Action add = where switch
            {
                0 => () => line.Word(value),
                1 => () => line.OptionWord("usb-storage").Option("serial", QemuValue.Of(value)),
                _ => () => line.OptionWord(value),
            };
            if (SafeHmpValue().IsMatch(value) && value[0] != '-' && value.Length <= 4096)
            {
                add();
                Assert.DoesNotContain('\n', line.ToString());
            }
            else
            {
                Assert.Throws<ArgumentException>(add);
            }
        }, iter: 3_000);
    }
}
