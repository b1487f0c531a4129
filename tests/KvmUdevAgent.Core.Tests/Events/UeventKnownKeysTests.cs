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
