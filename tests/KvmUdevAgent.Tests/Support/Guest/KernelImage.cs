using System.Buffers.Binary;
using System.Text;

namespace KvmUdevAgent.Tests.Support.Guest;

/// <summary>
/// The kernel a test guest boots. Under TCG a guest spends seconds unpacking a bzImage, so the
/// uncompressed ELF <c>vmlinux</c> is taken out of it once and booted through PVH: QEMU's
/// <c>-kernel</c> loads an ELF that carries the Xen PVH entry note straight into memory.
/// </summary>
internal static class KernelImage
{
    // Documentation/arch/x86/boot.rst: setup_sects at 0x1f1, header magic "HdrS" at 0x202,
    // payload_offset/payload_length at 0x248/0x24c (relative to the protected-mode code).
    private const int SetupSectsOffset = 0x1F1;
    private const int HeaderMagicOffset = 0x202;
    private const int PayloadOffsetOffset = 0x248;
    private const int PayloadLengthOffset = 0x24C;
    private const uint XenElfNotePhys32Entry = 18; // XEN_ELFNOTE_PHYS32_ENTRY: the PVH entry point

    /// <summary>The compressed payload of a bzImage; throws when the file is not one.</summary>
    public static ReadOnlyMemory<byte> Payload(byte[] bzImage)
    {
        if (bzImage.Length < 0x260 || Encoding.ASCII.GetString(bzImage, HeaderMagicOffset, 4) != "HdrS")
        {
            throw new InvalidDataException("not a bzImage (no HdrS boot header)");
        }

        int setupSects = bzImage[SetupSectsOffset] == 0 ? 4 : bzImage[SetupSectsOffset];
        int start = (setupSects + 1) * 512 + (int)BinaryPrimitives.ReadUInt32LittleEndian(bzImage.AsSpan(PayloadOffsetOffset));
        int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(bzImage.AsSpan(PayloadLengthOffset));
        if (start < 0 || length <= 0 || start + length > bzImage.Length)
        {
            throw new InvalidDataException("bzImage payload out of bounds");
        }

        return bzImage.AsMemory(start, length);
    }

    /// <summary>Whether an ELF64 kernel has the PVH entry note (CONFIG_PVH), which QEMU needs to boot it directly.</summary>
    public static bool HasPvhNote(string vmlinux)
    {
        using FileStream file = File.OpenRead(vmlinux);
        byte[] header = new byte[64];
        file.ReadExactly(header);
        if (!header.AsSpan(0, 4).SequenceEqual("\u007fELF"u8) || header[4] != 2)
        {
            return false;
        }

        long phoff = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(0x20));
        int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x36));
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x38));
        byte[] ph = new byte[phentsize];
        for (int i = 0; i < phnum; i++)
        {
            file.Position = phoff + (long)i * phentsize;
            file.ReadExactly(ph);
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != 4) // PT_NOTE
            {
                continue;
            }

            byte[] notes = new byte[BinaryPrimitives.ReadInt64LittleEndian(ph.AsSpan(0x20))];
            file.Position = BinaryPrimitives.ReadInt64LittleEndian(ph.AsSpan(0x08));
            file.ReadExactly(notes);
            for (int at = 0; at + 12 <= notes.Length;)
            {
                int nameSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(at));
                int descSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(at + 4));
                uint type = BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(at + 8));
                if (type == XenElfNotePhys32Entry && nameSize == 4 && notes.AsSpan(at + 12, 3).SequenceEqual("Xen"u8))
                {
                    return true;
                }

                at += 12 + Align4(nameSize) + Align4(descSize);
            }
        }

        return false;
    }

    private static int Align4(int n) => (n + 3) & ~3;
}
