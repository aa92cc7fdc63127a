#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# mkpayload.sh KERNEL BUSYBOX OUTDIR BUILD
#
# The Linux guest that testbench/guest/main-job.sh boots through vapicvm-run
# inside the emulated machine: OUTDIR/vmlinuz (a copy of KERNEL, unmodified)
# and OUTDIR/linux-initrd.cpio, a busybox initramfs whose /init reports
# "GUEST-LINUX-BOOT: ok cpus=N" (N from /proc/cpuinfo) through the kernel
# log, so it reaches the polled serial console, and powers off.
set -eu
kernel=$1 busybox=$2 out=$3 build=$4
root=$build/guest-initramfs
rm -rf "$root"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$out"
cp "$busybox" "$root/bin/busybox"
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
n=$(/bin/busybox grep -c ^processor /proc/cpuinfo)
up=$(/bin/busybox cut -d' ' -f1 /proc/uptime)
# Level 2 (crit): printed on the console whatever the loglevel.
echo "<2>GUEST-LINUX-BOOT: ok cpus=$n uptime=$up" >/dev/kmsg
/bin/busybox poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) >"$out/linux-initrd.cpio"
cp "$kernel" "$out/vmlinuz"
echo "payload: $out/vmlinuz, $out/linux-initrd.cpio"
