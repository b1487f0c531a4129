namespace KvmUdevAgent.Tests.Support.Guest;

/// <summary>
/// The guest's /init: loads the drivers, then reports on its second serial port (ttyS1; the
/// kernel's console is ttyS0) what it sees, as a block of lines between <c>KUA begin</c> and
/// <c>KUA end</c>, each time that changes (polled every 0.1 s; a new disk is reported before its
/// filesystem is mounted, and again at once with what the filesystem holds):
/// <list type="bullet">
/// <item><c>KUA usb NAME VENDOR PRODUCT SERIAL</c>: each device in /sys/bus/usb/devices (serial to the end of the line, empty when it has none);</item>
/// <item><c>KUA disk NAME REMOVABLE RO SECTORS</c>: each SCSI disk in /sys/block;</item>
/// <item><c>KUA label NAME LABEL</c> and <c>KUA nonce NAME TEXT</c>: when the disk holds ext4 (mounted read-only, without the journal), its label and the first line of its file <c>nonce</c>.</item>
/// </list>
/// A disk that goes away is unmounted (lazily: its device is gone). usb-storage waits a second
/// before it scans a new device (<c>delay_use</c>) unless told not to; insmod, unlike modprobe,
/// does not pass it the kernel command line's <c>usb-storage.delay_use</c>, so /init sets it in sysfs.
/// </summary>
internal static class GuestInit
{
    public const string ModulesPlaceholder = "@MODULES@";

    public const string Script = """
        #!/bin/busybox sh
        /bin/busybox --install -s /bin
        export PATH=/bin
        mount -t proc proc /proc
        mount -t sysfs sysfs /sys
        mount -t devtmpfs devtmpfs /dev
        for m in @MODULES@; do insmod "$m" || echo "KUA error insmod $m" > /dev/ttyS1; done
        echo 0 > /sys/module/usb_storage/parameters/delay_use || echo "KUA error delay_use" > /dev/ttyS1
        exec > /dev/ttyS1 2> /dev/ttyS0
        echo "KUA ready"
        last=
        while :; do
          s=
          for d in /sys/bus/usb/devices/*; do
            [ -e "$d/idVendor" ] || continue
            read -r v < "$d/idVendor"; read -r p < "$d/idProduct"
            ser=; [ -e "$d/serial" ] && read -r ser < "$d/serial"
            s="$s
        KUA usb ${d##*/} $v $p $ser"
          done
          for m in /mnt/*; do
            [ -d "$m" ] || continue
            n=${m##*/}
            [ -e "/sys/block/$n" ] || { umount -l "$m"; rmdir "$m"; rm -f "/run/$n"; }
          done
          pending=
          for b in /sys/block/sd*; do
            [ -e "$b" ] || continue
            n=${b##*/}
            read -r r < "$b/removable"; read -r ro < "$b/ro"; read -r size < "$b/size"
            s="$s
        KUA disk $n $r $ro $size"
            if [ -d "/mnt/$n" ]; then
              [ -s "/run/$n" ] && s="$s
        $(cat "/run/$n")"
            elif [ "$size" != 0 ]; then
              pending="$pending $n"
            fi
          done
          if [ "$s" != "$last" ]; then
            echo "KUA begin$s
        KUA end"
            last=$s
          fi
          for n in $pending; do
            mkdir "/mnt/$n"
            if mount -t ext4 -o ro,noload "/dev/$n" "/mnt/$n"; then
              label=$(dd if="/dev/$n" bs=1 skip=1144 count=16 2>/dev/null | tr -d '\0')
              nonce=; [ -f "/mnt/$n/nonce" ] && read -r nonce < "/mnt/$n/nonce"
              printf 'KUA label %s %s\nKUA nonce %s %s\n' "$n" "$label" "$n" "$nonce" > "/run/$n"
            else
              : > "/run/$n"
            fi
          done
          [ -n "$pending" ] || sleep 0.1
        done

        """;
}
