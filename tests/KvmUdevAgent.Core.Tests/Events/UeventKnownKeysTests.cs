using System.Text;
using KvmUdevAgent.Core.Events;

namespace KvmUdevAgent.Core.Tests.Events;

public sealed class UeventKnownKeysTests
{
    [Fact]
    public void Count_FitsTheSlots()
    {
        Assert.InRange(UeventKnownKeys.Count, 1, UeventKeySlots.Length);
    }

    [Fact]
    public void Find_EveryKnownKey_ItsOwnId()
    {
        for (int id = 0; id < UeventKnownKeys.Count; id++)
        {
            string name = UeventKnownKeys.Name(id);
            Assert.Equal(id, UeventKnownKeys.Find(name));
            Assert.Equal(id, UeventKnownKeys.Find(new string(name.AsSpan())));
            Assert.Equal(id, UeventKnownKeys.Find(Encoding.ASCII.GetBytes(name)));
            Assert.Equal(name, Encoding.ASCII.GetString(UeventKnownKeys.Bytes(id)));
        }
    }

    [Fact]
    public void Ids_AreTheirKeysRows()
    {
        // The device view reads by these ids (issue 15): each must name its own key.
        (int Id, string Key)[] ids =
        [
            (UeventKnownKeys.Action, UeventKeys.Action), (UeventKnownKeys.DevPath, UeventKeys.DevPath),
            (UeventKnownKeys.Subsystem, UeventKeys.Subsystem), (UeventKnownKeys.DevType, UeventKeys.DevType),
            (UeventKnownKeys.SeqNum, UeventKeys.SeqNum), (UeventKnownKeys.Driver, UeventKeys.Driver),
            (UeventKnownKeys.DevName, UeventKeys.DevName), (UeventKnownKeys.Product, UeventKeys.Product),
            (UeventKnownKeys.BusNum, UeventKeys.BusNum), (UeventKnownKeys.DevNum, UeventKeys.DevNum),
            (UeventKnownKeys.DevPathOld, UeventKeys.DevPathOld),
            (UeventKnownKeys.IdVendorId, UeventKeys.IdVendorId), (UeventKnownKeys.IdUsbVendorId, UeventKeys.IdUsbVendorId),
            (UeventKnownKeys.IdModelId, UeventKeys.IdModelId), (UeventKnownKeys.IdUsbModelId, UeventKeys.IdUsbModelId),
            (UeventKnownKeys.IdSerialShort, UeventKeys.IdSerialShort), (UeventKnownKeys.IdUsbSerialShort, UeventKeys.IdUsbSerialShort),
            (UeventKnownKeys.IdVendor, UeventKeys.IdVendor), (UeventKnownKeys.IdVendorEnc, UeventKeys.IdVendorEnc),
            (UeventKnownKeys.IdModel, UeventKeys.IdModel), (UeventKnownKeys.IdModelEnc, UeventKeys.IdModelEnc),
            (UeventKnownKeys.IdUsbInterfaces, UeventKeys.IdUsbInterfaces),
            (UeventKnownKeys.IdFsLabel, UeventKeys.IdFsLabel), (UeventKnownKeys.IdFsLabelEnc, UeventKeys.IdFsLabelEnc),
            (UeventKnownKeys.IdFsUuid, UeventKeys.IdFsUuid), (UeventKnownKeys.IdFsUuidEnc, UeventKeys.IdFsUuidEnc),
            (UeventKnownKeys.IdFsType, UeventKeys.IdFsType),
        ];

        Assert.Equal(UeventKnownKeys.Count, ids.Length);
        foreach (var (id, key) in ids)
        {
            Assert.Equal(key, UeventKnownKeys.Name(id));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("A")]
    [InlineData("action")]
    [InlineData("ACTIO")]
    [InlineData("ACTIONS")]
    [InlineData("DEVPATH_OLX")]
    [InlineData("ID_USB_SERIAL_SHORX")]
    [InlineData("ID_USB_SERIAL_SHORT_")]
    [InlineData("ID_USB_SERIAL_XHORT")]
    [InlineData("ID_USB_SXRIAL_SHORT")]
    [InlineData("ID_USB_INTERFACE_")]
    [InlineData("USEC_INITIALIZED")]
    [InlineData("DEVLINKS")]
    [InlineData("ID_VENDÖR")]
    public void Find_OtherKey_NotFound(string key)
    {
        Assert.Equal(-1, UeventKnownKeys.Find(key));
        Assert.Equal(-1, UeventKnownKeys.Find(Encoding.UTF8.GetBytes(key)));
    }

    [Fact]
    public void Find_KeysTheAgentReads_AreKnown()
    {
        // The constants the agent reads with are the table's rows; a row missing would only be slower.
        foreach (string key in new[] { UeventKeys.Action, UeventKeys.DevPath, UeventKeys.Subsystem, UeventKeys.DevType, UeventKeys.SeqNum, UeventKeys.Driver, UeventKeys.DevName, UeventKeys.DevNum, UeventKeys.BusNum, UeventKeys.Product, UeventKeys.IdVendorId, UeventKeys.IdModelId, UeventKeys.IdUsbInterfaces, UeventKeys.IdFsType })
        {
            Assert.NotEqual(-1, UeventKnownKeys.Find(key));
        }
    }
}
