#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch the Debian kernel image whose ABI matches the headers the module is
# built against, and unpack (never install) it into $BUILD/kernel/<release>.
# Prints that directory on the last line of stdout.
#
#   fetch-kernel.sh <kernel release, e.g. 6.1.0-56-amd64>
set -euo pipefail

BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
release=$1
out=$BUILD/kernel/$release

if [[ -f $out/vmlinuz && -f $out/.complete && -f $out/guest-modules/order ]]; then
	echo "$out"
	exit 0
fi

rm -rf "$out"
mkdir -p "$out/deb"
cd "$out/deb"
# Prefer the unsigned image (identical kernel, no signing wrapper package).
if ! apt-get -o APT::Sandbox::User=root download "linux-image-$release-unsigned" >download.log 2>&1 &&
   ! apt-get -o APT::Sandbox::User=root download "linux-image-$release" >>download.log 2>&1; then
	cat download.log >&2
	echo "fetch-kernel: no linux-image package for $release" >&2
	exit 1
fi
dpkg -x linux-image-*.deb root
cp "root/boot/vmlinuz-$release" "$out/vmlinuz"
cp "root/boot/config-$release" "$out/config"
# Modules the bench loads besides vapicvm: KVM, for the coexistence tests.
mkdir -p "$out/modules"
for m in kernel/virt/lib/irqbypass kernel/arch/x86/kvm/kvm kernel/arch/x86/kvm/kvm-intel; do
	src=$(ls "root/lib/modules/$release/$m".ko* 2>/dev/null | head -n1 || true)
	[[ -n $src ]] || continue
	case $src in
	*.xz) xz -dc "$src" >"$out/modules/$(basename "$m").ko" ;;
	*.zst) zstd -qdc "$src" >"$out/modules/$(basename "$m").ko" ;;
	*) cp "$src" "$out/modules/$(basename "$m").ko" ;;
	esac
done
# Modules the Linux guest payload loads to boot from its virtio-mmio disk
# (userspace/tests/guest/mkpayload.sh), in dependency order, and that order.
mkdir -p "$out/guest-modules"
: >"$out/guest-modules/order"
for m in kernel/drivers/virtio/virtio_ring kernel/drivers/virtio/virtio \
	 kernel/drivers/virtio/virtio_mmio kernel/drivers/block/virtio_blk kernel/lib/crc16 \
	 kernel/fs/mbcache kernel/fs/jbd2/jbd2 kernel/crypto/crc32c_generic kernel/fs/ext4/ext4; do
	src=$(ls "root/lib/modules/$release/$m".ko* 2>/dev/null | head -n1 || true)
	[[ -n $src ]] || continue
	dst=$out/guest-modules/$(basename "$m").ko
	case $src in
	*.xz) xz -dc "$src" >"$dst" ;;
	*.zst) zstd -qdc "$src" >"$dst" ;;
	*) cp "$src" "$dst" ;;
	esac
	basename "$m" >>"$out/guest-modules/order"
done
rm -rf "$out/deb"
touch "$out/.complete"
echo "$out"
