#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian trixie's kernel (6.12) for the bench's "trixie" flavour: a minimal
# trixie chroot in $BUILD/kernel/trixie-chroot that holds the headers and
# the compiler (gcc 14) the module builds with, and the kernel image that
# linux-headers-amd64 points at there, unpacked (never installed) into
# $BUILD/kernel/<release> like testbench/fetch-kernel.sh does for Debian 12.
# Prints that directory on the last line of stdout; the chroot is
# <that directory>/../trixie-chroot.
#
#   fetch-kernel-trixie.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$(dirname "$here")/build}
chroot_dir=$BUILD/kernel/trixie-chroot

# The host's own Debian mirror, from its apt sources (deb822 or one-line).
mirror() {
	local uri
	uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | grep /debian | head -n1 || true)
	[[ -n $uri ]] || uri=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		grep -v security | grep /debian | head -n1 || true)
	echo "${uri:-http://deb.debian.org/debian}"
}

in_chroot() {
	DEBIAN_FRONTEND=noninteractive LC_ALL=C chroot "$chroot_dir" "$@"
}

if [[ ! -f $chroot_dir/.complete ]]; then
	command -v debootstrap >/dev/null || { echo "fetch-kernel-trixie: debootstrap is missing (testbench/setup-host.sh installs it)" >&2; exit 1; }
	rm -rf "$chroot_dir"
	mkdir -p "$BUILD/kernel"
	url=$(mirror)
	echo "fetch-kernel-trixie: debootstrap trixie from $url" >&2
	if ! debootstrap --variant=minbase trixie "$chroot_dir" "$url" \
		>"$BUILD/kernel/trixie-debootstrap.log" 2>&1; then
		tail -n 30 "$BUILD/kernel/trixie-debootstrap.log" >&2
		echo "fetch-kernel-trixie: debootstrap failed" >&2
		exit 1
	fi
	# No daemons start inside; apt runs as root (no _apt sandbox user).
	printf '#!/bin/sh\nexit 101\n' >"$chroot_dir/usr/sbin/policy-rc.d"
	chmod 755 "$chroot_dir/usr/sbin/policy-rc.d"
	echo 'APT::Sandbox::User "root";' >"$chroot_dir/etc/apt/apt.conf.d/90sandbox"
	cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf" 2>/dev/null || true
	in_chroot apt-get update -q >&2
	in_chroot apt-get install -y -q --no-install-recommends \
		linux-headers-amd64 make gcc libc6-dev >&2
	# The downloaded packages are of no further use (300 MB).
	in_chroot apt-get clean
	touch "$chroot_dir/.complete"
fi

# The ABI linux-headers-amd64 points at, e.g. 6.12.57+deb13-amd64.
release=$(in_chroot dpkg-query -W -f='${Depends}' linux-headers-amd64 |
	tr ',' '\n' | sed -n 's/^[[:space:]]*linux-headers-\([^[:space:]]*\).*/\1/p' | head -n1)
[[ -n $release && -d $chroot_dir/usr/src/linux-headers-$release ]] || {
	echo "fetch-kernel-trixie: cannot tell the kernel release from linux-headers-amd64" >&2
	exit 1
}
out=$BUILD/kernel/$release

if [[ -f $out/vmlinuz && -f $out/.complete && -f $out/guest-modules/order ]]; then
	echo "$out"
	exit 0
fi

rm -rf "$out"
mkdir -p "$out" "$chroot_dir/tmp/kernel-deb"
rm -f "$chroot_dir"/tmp/kernel-deb/*.deb
# Prefer the unsigned image (identical kernel, no signing wrapper package).
if ! (cd "$chroot_dir/tmp/kernel-deb" && in_chroot sh -c \
	"cd /tmp/kernel-deb && { apt-get download linux-image-$release-unsigned || apt-get download linux-image-$release; }") \
	>"$out/download.log" 2>&1; then
	cat "$out/download.log" >&2
	echo "fetch-kernel-trixie: no linux-image package for $release" >&2
	exit 1
fi
mkdir -p "$out/deb"
dpkg -x "$chroot_dir"/tmp/kernel-deb/linux-image-*.deb "$out/deb/root"
rm -rf "$chroot_dir/tmp/kernel-deb" "$out/download.log"
"$here/unpack-kernel.sh" "$out/deb/root" "$release" "$out"
rm -rf "$out/deb"
touch "$out/.complete"
echo "$out"
