#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# mkpayload.sh KERNEL BUSYBOX OUTDIR BUILD
#
# The Linux guest that testbench/guest/main-job.sh boots through vapicvm-run
# inside the emulated machine: OUTDIR/vmlinuz (a copy of KERNEL, unmodified),
# OUTDIR/linux-initrd.cpio, a busybox initramfs, and OUTDIR/linux-disk.img,
# a small ext4 root file system for vapicvm-run's virtio-mmio disk (--disk).
#
# The initramfs's /init: when the command line names a virtio-mmio device
# (virtio_mmio.device=, which vapicvm-run adds with --disk), it loads the
# modules for it (virtio, virtio_mmio, virtio_blk, ext4 and what they need,
# in dependency order, from KERNEL's directory: guest-modules/, which
# testbench/fetch-kernel.sh fills) and virtio_mmio_cmdline.ko, which
# registers the device the way CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES would (the
# Debian kernel is built without it); then it mounts /dev/vda and
# switch_roots into it.  The disk's /init proves the disk works: it reads a
# file of known content (its MD5 is written into the script here), writes a
# file, syncs, drops the page cache and reads that back.  Without a device
# on the command line (kvm-linux-run's machine) or when the disk cannot be
# mounted, the initramfs's /init carries on itself with disk=none or
# disk=bad.  Either /init then
#   - writes a few lines to /dev/console, the tty: the 8250 driver sends
#     them from its interrupt handler (THRE interrupts on ISA IRQ 4, through
#     the I/O APIC), not through the polled printk console;
#   - reports "GUEST-LINUX-BOOT: ok cpus=N disk=D irq=I uart_irqs=K
#     uptime=S", both through the kernel log (at crit level, so the printk
#     console prints it whatever the loglevel) and through the tty;
#   - with vapicvm_stat_hold on the command line, prints "GUEST-LINUX-HOLD"
#     and waits (at most 30 s) for a line on the console, while the host
#     looks at the running VM; and powers off.
# N is from /proc/cpuinfo; D is ok, bad or none; K is the ttyS0 line's
# count in /proc/interrupts, summed over the CPUs, and I says what
# delivered them: "ioapic" for an IO-APIC line with K > 0, "pic" for
# XT-PIC, the chip's name for another chip, "none" when there is no ttyS0
# line or K is 0 (a machine without an interrupt for the serial port, as
# kvm-linux-run's: there the tty writes fail and only the kernel-log line
# reaches the output).
set -eu
kernel=$1 busybox=$2 out=$3 build=$4
here=$(cd "$(dirname "$0")" && pwd)
root=$build/guest-initramfs
disk=$build/guest-disk
rm -rf "$root" "$disk"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/newroot" "$out"
cp "$busybox" "$root/bin/busybox"

# The report, shared by both /init scripts: $disk_state is set before it.
cat >"$build/guest-report.sh" <<'REPORT'
n=$($bb grep -c ^processor /proc/cpuinfo)
for i in 1 2 3; do
	echo "GUEST-LINUX-TTY: line $i of 3, written to /dev/console, sent on THRE interrupts"
done >/dev/console 2>/dev/null
# fds 0-2 keep the console open, so closing it does not wait for the
# output to drain: give the interrupts a moment to send it.
$bb sleep 0.2 2>/dev/null || $bb sleep 1
# "  4:   0   37   IO-APIC   4-edge   ttyS0": the counts (one column per
# CPU in the header line) and the chip after them.
set -- $($bb awk 'NR == 1 { n = NF }
	$1 ~ /^[0-9]+:$/ && / ttyS0/ { s = 0; for (i = 2; i <= n + 1; i++) s += $i; print $(n + 2), s; exit }' \
	/proc/interrupts 2>/dev/null)
chip=${1:-} k=${2:-0}
case $chip in
IO-APIC) irq=ioapic ;;
XT-PIC) irq=pic ;;
*) irq=$(echo "$chip" | $bb tr 'A-Z' 'a-z') ;;
esac
[ -n "$irq" ] && [ "$k" -gt 0 ] 2>/dev/null || irq=none
up=$($bb cut -d' ' -f1 /proc/uptime)
line="GUEST-LINUX-BOOT: ok cpus=$n disk=$disk_state irq=$irq uart_irqs=$k uptime=$up"
# Level 2 (crit): printed on the console whatever the loglevel.
echo "<2>$line" >/dev/kmsg
echo "$line" >/dev/console 2>/dev/null
# vapicvm_stat_hold on the command line: the host looks at the running
# guest now (the bench's main job takes a vapicvm-stat table of it) and
# says it is done with a line on the console; at most 30 s.
if $bb grep -qw vapicvm_stat_hold /proc/cmdline; then
	echo "GUEST-LINUX-HOLD: send a line to go on" >/dev/console 2>/dev/null
	read -t 30 go </dev/console 2>/dev/null || true
fi
$bb sleep 0.2 2>/dev/null || $bb sleep 1
$bb poweroff -f
REPORT

# The initramfs: the disk's modules, when the kernel's directory has them.
modules=$(dirname "$kernel")/guest-modules
release=$(basename "$(dirname "$kernel")")
kdir=${GUEST_KDIR:-/usr/src/linux-headers-$release}
with_disk=0
if [ -f "$modules/order" ] && [ -d "$kdir" ] && command -v mke2fs >/dev/null; then
	mkdir -p "$root/lib/modules" "$build/guest-vmmio"
	for m in $(cat "$modules/order"); do
		cp "$modules/$m.ko" "$root/lib/modules/"
	done
	cp "$modules/order" "$root/lib/modules/order"
	cp "$here/virtio-mmio-cmdline/Kbuild" "$here/virtio-mmio-cmdline/virtio_mmio_cmdline.c" \
		"$build/guest-vmmio/"
	make -s -C "$kdir" M="$build/guest-vmmio" modules >"$build/guest-vmmio/build.log" 2>&1 ||
		{ cat "$build/guest-vmmio/build.log" >&2; exit 1; }
	cp "$build/guest-vmmio/virtio_mmio_cmdline.ko" "$root/lib/modules/"
	with_disk=1
else
	echo "payload: no disk (need $modules/order, $kdir and mke2fs)" >&2
fi

{
	cat <<'INIT'
#!/bin/busybox sh
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t devtmpfs dev /dev 2>/dev/null
disk_state=none
dev=
for w in $($bb cat /proc/cmdline); do
	case $w in virtio_mmio.device=*) dev=${w#virtio_mmio.device=} ;; esac
done
if [ -n "$dev" ] && [ -f /lib/modules/order ]; then
	disk_state=bad
	for m in $($bb cat /lib/modules/order); do
		$bb insmod /lib/modules/$m.ko || echo "insmod $m failed" >/dev/kmsg
	done
	$bb insmod /lib/modules/virtio_mmio_cmdline.ko device=$dev
	i=0
	while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do
		$bb sleep 0.1
		i=$((i + 1))
	done
	if $bb mount -t ext4 /dev/vda /newroot && [ -x /newroot/init ]; then
		$bb umount /proc
		$bb umount /dev
		exec $bb switch_root /newroot /init
	fi
	echo "<2>GUEST-LINUX-DISK: /dev/vda did not mount" >/dev/kmsg
fi
INIT
	cat "$build/guest-report.sh"
} >"$root/init"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) >"$out/linux-initrd.cpio"

# The disk: busybox, a file of known content, and an /init that checks it.
rm -f "$out/linux-disk.img"
if [ "$with_disk" = 1 ]; then
	mkdir -p "$disk/bin" "$disk/proc" "$disk/sys" "$disk/dev" "$disk/data"
	cp "$busybox" "$disk/bin/busybox"
	seq 1 40000 >"$disk/data/known.txt"
	known=$(md5sum <"$disk/data/known.txt" | cut -d' ' -f1)
	written=$(seq 2 2 20000 | md5sum | cut -d' ' -f1)
	{
		cat <<'INIT'
#!/bin/busybox sh
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t devtmpfs dev /dev 2>/dev/null
$bb mount -o remount,rw / 2>/dev/null
INIT
		echo "known=$known written=$written"
		cat <<'INIT'
# Read a file of known content, write one, sync, and read it back from
# the disk (the page cache dropped).
disk_state=bad
if [ "$($bb md5sum </data/known.txt | $bb cut -d' ' -f1)" = "$known" ]; then
	$bb seq 2 2 20000 >/data/written.txt && $bb sync &&
		echo 3 >/proc/sys/vm/drop_caches &&
		[ "$($bb md5sum </data/written.txt | $bb cut -d' ' -f1)" = "$written" ] &&
		disk_state=ok
fi
[ $disk_state = ok ] || echo "<2>GUEST-LINUX-DISK: the disk's files are not as written" >/dev/kmsg
INIT
		cat "$build/guest-report.sh"
	} >"$disk/init"
	chmod +x "$disk/init"
	# No metadata_csum: ext4 would need crc32c; a few MiB, 1 KiB blocks.
	mke2fs -q -F -t ext4 -b 1024 -O ^metadata_csum -L vapicvm-guest -d "$disk" \
		"$out/linux-disk.img" 6M
fi
cp "$kernel" "$out/vmlinuz"
echo "payload: $out/vmlinuz, $out/linux-initrd.cpio$([ "$with_disk" = 0 ] || echo ", $out/linux-disk.img")"
