#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# From a Debian kernel image package unpacked with dpkg -x into ROOT, take
# what the bench needs into OUT: vmlinuz and config; modules/, the modules
# the bench loads besides vapicvm (KVM's, for the coexistence tests);
# guest-modules/, the modules the Linux guest payload loads to boot from its
# virtio-mmio disk (userspace/tests/guest/mkpayload.sh), in dependency
# order, and that order.  Modules come decompressed (busybox insmod reads
# plain .ko).  fetch-kernel.sh and fetch-kernel-trixie.sh share it.
#
#   unpack-kernel.sh ROOT RELEASE OUT
set -euo pipefail
root=$1 release=$2 out=$3

# trixie's packages ship the modules in /usr/lib/modules (merged /usr).
moddir=$root/usr/lib/modules/$release
[[ -d $moddir ]] || moddir=$root/lib/modules/$release

# Copy module $1 (a path under the modules directory, no suffix) to $2,
# decompressed; nothing if the kernel does not have it.
take_module() {
	local src
	src=$(ls "$moddir/$1".ko* 2>/dev/null | head -n1 || true)
	[[ -n $src ]] || return 1
	case $src in
	*.xz) xz -dc "$src" >"$2" ;;
	*.zst) zstd -qdc "$src" >"$2" ;;
	*) cp "$src" "$2" ;;
	esac
}

cp "$root/boot/vmlinuz-$release" "$out/vmlinuz"
cp "$root/boot/config-$release" "$out/config"
mkdir -p "$out/modules" "$out/guest-modules"
for m in kernel/virt/lib/irqbypass kernel/arch/x86/kvm/kvm kernel/arch/x86/kvm/kvm-intel; do
	take_module "$m" "$out/modules/$(basename "$m").ko" || true
done
: >"$out/guest-modules/order"
for m in kernel/drivers/virtio/virtio_ring kernel/drivers/virtio/virtio \
	 kernel/drivers/virtio/virtio_mmio kernel/drivers/block/virtio_blk kernel/lib/crc16 \
	 kernel/fs/mbcache kernel/fs/jbd2/jbd2 kernel/crypto/crc32c_generic kernel/fs/ext4/ext4; do
	if take_module "$m" "$out/guest-modules/$(basename "$m").ko"; then
		basename "$m" >>"$out/guest-modules/order"
	fi
done
