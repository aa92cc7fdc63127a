#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian 12 packages the build and the bench need, if missing.
# Idempotent: installs nothing when everything is present.
set -euo pipefail

packages=(
	build-essential g++ make cmake pkg-config perl xz-utils cpio patch
	python3				# the bench (testbench/bench.py)
	libltdl-dev			# building the emulator
	bochsbios vgabios		# the emulated machine's firmware
	busybox-static			# the initramfs userland
	e2fsprogs			# the Linux guest's ext4 disk image (mke2fs -d)
	isolinux syslinux-common xorriso	# the boot ISO
	linux-headers-amd64		# what the module builds against
	linux-source			# kselftest_harness.h, checkpatch.pl, the debug kernel
	flex bison bc libelf-dev	# building the debug kernel (testbench/build-debug-kernel.sh)
	debootstrap			# the trixie chroot (testbench/fetch-kernel-trixie.sh)
	libgtest-dev			# host-side unit tests
	libnl-3-dev libnl-genl-3-dev	# the netlink CLI
	sparse				# make sparse
	kmod groff-base			# make install's tests: modinfo, depmod, man pages
	dkms openssl			# the module through DKMS, signed (testbench/dkms-build.sh)
	debhelper dh-dkms dpkg-dev fakeroot	# the Debian packages (debian/)
	# gdb-minimal's libraries: testbench/fetch-gdb.sh unpacks its gdb
	# (for the main job's --gdb test) without installing it
	libdebuginfod1 libexpat1 libgmp10 libipt2 libreadline8 libxxhash0
)

missing=()
for p in "${packages[@]}"; do
	[[ $p == \#* ]] && continue
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing+=("$p")
	fi
done
# linux-source is a metapackage: also need the versioned tarball it pulls in.
if ! ls /usr/src/linux-source-*.tar.xz >/dev/null 2>&1; then
	missing+=(linux-source)
fi

if ((${#missing[@]})); then
	echo "setup: installing ${missing[*]}" >&2
	SUDO=
	[[ $(id -u) -eq 0 ]] || SUDO=sudo
	$SUDO apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >&2
fi
