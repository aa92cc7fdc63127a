#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# mkpayload.sh KERNEL BUSYBOX OUTDIR BUILD
#
# The Linux guest that testbench/guest/main-job.sh boots through vapicvm-run
# inside the emulated machine: OUTDIR/vmlinuz (a copy of KERNEL, unmodified)
# and OUTDIR/linux-initrd.cpio, a busybox initramfs whose /init
#   - writes a few lines to /dev/console, the tty: the 8250 driver sends
#     them from its interrupt handler (THRE interrupts on ISA IRQ 4, through
#     the I/O APIC), not through the polled printk console;
#   - reports "GUEST-LINUX-BOOT: ok cpus=N irq=I uart_irqs=K uptime=S", both
#     through the kernel log (at crit level, so the printk console prints
#     it whatever the loglevel) and through the tty, and powers off.
# N is from /proc/cpuinfo; K is the ttyS0 line's count in /proc/interrupts,
# summed over the CPUs, and I says what delivered them: "ioapic" for an
# IO-APIC line with K > 0, "pic" for XT-PIC, the chip's name for another
# chip, "none" when there is no ttyS0 line or K is 0 (a machine without an
# interrupt for the serial port, as kvm-linux-run's: there the tty writes
# fail and only the kernel-log line reaches the output).
set -eu
kernel=$1 busybox=$2 out=$3 build=$4
root=$build/guest-initramfs
rm -rf "$root"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$out"
cp "$busybox" "$root/bin/busybox"
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t devtmpfs dev /dev 2>/dev/null
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
line="GUEST-LINUX-BOOT: ok cpus=$n irq=$irq uart_irqs=$k uptime=$up"
# Level 2 (crit): printed on the console whatever the loglevel.
echo "<2>$line" >/dev/kmsg
echo "$line" >/dev/console 2>/dev/null
$bb sleep 0.2 2>/dev/null || $bb sleep 1
$bb poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) >"$out/linux-initrd.cpio"
cp "$kernel" "$out/vmlinuz"
echo "payload: $out/vmlinuz, $out/linux-initrd.cpio"
