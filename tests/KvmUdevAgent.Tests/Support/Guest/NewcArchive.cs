using System.Globalization;
using System.Text;

namespace KvmUdevAgent.Tests.Support.Guest;

/// <summary>
/// Writes a cpio archive in the "newc" format, the one the kernel unpacks as an initramfs
/// (Documentation/driver-api/early-userspace/buffer-format.rst): a 110-byte ASCII header per entry,
/// the name, the data, each padded to 4 bytes, and a <c>TRAILER!!!</c> entry at the end.
/// Entries are owned by root; the test guest needs nothing else (no cpio package).
/// </summary>
internal sealed class NewcArchive : IDisposable
{
    private const int DirectoryMode = 0x4000; // S_IFDIR
    private const int RegularMode = 0x8000; // S_IFREG
    private readonly Stream _stream;
    private int _inode = 1;

    public NewcArchive(Stream stream) => _stream = stream;

    public void AddDirectory(string name) => Add(name, DirectoryMode | 0x1ED, []); // 0755

    public void AddFile(string name, byte[] data, bool executable = false) => Add(name, RegularMode | (executable ? 0x1ED : 0x1A4), data); // 0755 / 0644

    public void Dispose()
    {
        Add("TRAILER!!!", 0, []);
        _stream.Flush();
    }

    private void Add(string name, int mode, byte[] data)
    {
        byte[] nameBytes = Encoding.ASCII.GetBytes(name + "\0");
        var header = new StringBuilder("070701");
        // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
        foreach (int field in (int[])[_inode++, mode, 0, 0, (mode & DirectoryMode) != 0 ? 2 : 1, 0, data.Length, 0, 0, 0, 0, nameBytes.Length, 0])
        {
            header.Append(field.ToString("X8", CultureInfo.InvariantCulture));
        }

        _stream.Write(Encoding.ASCII.GetBytes(header.ToString()));
        _stream.Write(nameBytes);
        Pad(110 + nameBytes.Length);
        _stream.Write(data);
        Pad(data.Length);
    }

    private void Pad(int length)
    {
        for (int i = length; i % 4 != 0; i++)
        {
            _stream.WriteByte(0);
        }
    }
}
