#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages, as TAP: built with dpkg-buildpackage in a copy of the
# sources under WORK (the source tree stays clean), their contents, then
# installed on the host, a program built against libvapicvm-dev with
# pkg-config, and purged again.  The vapicvm-dkms package's postinst builds
# the module for the kernels with headers; it signs with the bench's key
# (SIGNING_DIR), never with a key of the host's.
#
#   testbench/host-packages-test.sh WORK SIGNING_DIR
set -uo pipefail

work=$1 signing=$2
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../VERSION
. "$root/VERSION"
v=$VAPICVM_VERSION
packages=(vapicvm-dkms libvapicvm2 libvapicvm-dev vapicvm-tools)

# shellcheck source=tap.sh
. "$root/testbench/tap.sh"
quoted() { sed 's/^/#   /'; }

echo "TAP version 13"
echo "1..12"

# A copy of the sources without what a build left in the tree.
rm -rf "$work"
mkdir -p "$work/src"
tar -C "$root" --exclude-vcs --exclude=./build --exclude='*.o' --exclude='*.ko' \
	--exclude='*.mod' --exclude='*.mod.c' --exclude='.*.cmd' --exclude=Module.symvers \
	--exclude=modules.order --exclude=dkms.conf --exclude=__pycache__ -cf - . |
	tar -C "$work/src" -xf -

build() {
	(cd "$work/src" && dpkg-buildpackage -b -us -uc -j"$(nproc)") >"$work/build.log" 2>&1 ||
		{ tail -n 30 "$work/build.log" | quoted; return 1; }
}
check "dpkg-buildpackage -b -us -uc" build

debs=()
for p in "${packages[@]}"; do
	deb=$(ls "$work"/"${p}"_"${v}"_*.deb 2>/dev/null)
	debs+=("$deb")
done

# Each package holds its expected files.
has() {
	local deb=$1 listing missing=0
	shift
	[[ -f $deb ]] || { echo "#   no $deb"; return 1; }
	listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
	for f in "$@"; do
		grep -qxF "./$f" <<<"$listing" || { echo "#   $deb: no $f"; missing=1; }
	done
	return $missing
}
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
check "vapicvm-dkms: module sources, dkms.conf, udev rule, vapicvm(4)" has "${debs[0]}" \
	usr/src/vapicvm-$v/dkms.conf usr/src/vapicvm-$v/Kbuild usr/src/vapicvm-$v/Makefile \
	usr/src/vapicvm-$v/VERSION usr/src/vapicvm-$v/module/main.c \
	usr/src/vapicvm-$v/uapi/linux/vapicvm.h usr/lib/udev/rules.d/60-vapicvm.rules \
	usr/share/man/man4/vapicvm.4.gz
check "libvapicvm2: libvapicvm.so.$VAPICVM_SOVERSION" has "${debs[1]}" \
	usr/lib/$arch/libvapicvm.so.$VAPICVM_SOVERSION usr/lib/$arch/libvapicvm.so.$v
check "libvapicvm-dev: headers, .a, .so, pkg-config, CMake, libvapicvm(3)" has "${debs[2]}" \
	usr/include/vapicvm/vapicvm.hpp usr/include/linux/vapicvm.h \
	usr/lib/$arch/libvapicvm.a usr/lib/$arch/libvapicvm.so \
	usr/lib/$arch/pkgconfig/vapicvm.pc usr/lib/$arch/cmake/vapicvm/vapicvm-config.cmake \
	usr/share/man/man3/libvapicvm.3.gz
check "vapicvm-tools: vapicvm-run, vapicvm-stat, man pages" has "${debs[3]}" \
	usr/bin/vapicvm-run usr/bin/vapicvm-stat usr/share/man/man1/vapicvm-stat.1.gz \
	usr/share/man/man1/vapicvm-run.1.gz

# Without the bench's key (its DKMS build failed early) one of this test's
# own, so that DKMS makes none on the host.
if [[ ! -f $signing/signing_key.priv || ! -f $signing/signing_key.x509 ]]; then
	signing=$work/signing
	mkdir -p "$signing"
	openssl req -new -x509 -nodes -days 36500 -subj "/CN=vapicvm test signing key" \
		-newkey rsa:2048 -keyout "$signing/signing_key.priv" \
		-outform DER -out "$signing/signing_key.x509" 2>/dev/null
fi

# Installed on the host: what was there before stays (the group too).
group_before=$(getent group vapicvm || true)
depmod_before=$(ls -d /lib/modules/*/modules.* 2>/dev/null)
install_debs() {
	[[ -f ${debs[0]} && -f ${debs[1]} && -f ${debs[2]} && -f ${debs[3]} ]] || return 1
	mok_signing_key=$signing/signing_key.priv mok_certificate=$signing/signing_key.x509 \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${debs[@]}" >"$work/install.log" 2>&1 ||
		{ tail -n 30 "$work/install.log" | quoted; return 1; }
	grep -iE "dkms|kernel|headers|sign" "$work/install.log" | quoted
}
check "apt-get install of the four packages" install_debs
installed() {
	getent group vapicvm >/dev/null && [[ -f /usr/lib/udev/rules.d/60-vapicvm.rules ]] &&
		[[ -f /usr/src/vapicvm-$v/dkms.conf ]] && dkms status -m vapicvm | quoted
}
check "the group vapicvm, the udev rule, the sources DKMS knows" installed

consumer() {
	cat >"$work/consumer.cpp" <<'CPP'
#include <cstdio>
#include <vapicvm/vapicvm.hpp>

int main()
{
	std::printf("libvapicvm %s\n", vapicvm::library_version());
	return 0;
}
CPP
	# shellcheck disable=SC2046
	g++ -std=c++20 -o "$work/consumer" "$work/consumer.cpp" \
		$(pkg-config --cflags --libs vapicvm) 2>&1 | quoted || return 1
	ldd "$work/consumer" | grep -q "libvapicvm.so.$VAPICVM_SOVERSION => /" &&
		"$work/consumer" | quoted
}
if [[ -f /usr/lib/$arch/pkgconfig/vapicvm.pc ]]; then
	check "a program built with pkg-config against libvapicvm-dev runs" consumer
else
	check "a program built with pkg-config against libvapicvm-dev runs" false
fi

purge() {
	DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${packages[@]}" \
		>"$work/purge.log" 2>&1 || { tail -n 30 "$work/purge.log" | quoted; return 1; }
}
check "apt-get purge of the four packages" purge
# The module's install ran depmod: its index files go where there were none.
for f in /lib/modules/*/modules.*; do
	[[ -e $f ]] && ! grep -qxF "$f" <<<"$depmod_before" && rm -f "$f"
done
gone() {
	local left
	left=$(ls -d /usr/src/vapicvm-* /var/lib/dkms/vapicvm /lib/modules/*/updates/dkms/vapicvm.ko* \
		/usr/lib/udev/rules.d/60-vapicvm.rules /usr/lib/*/libvapicvm* 2>/dev/null)
	[[ -z $left ]] || { echo "#   left: $left"; return 1; }
}
check "nothing of theirs is left" gone
check "the group vapicvm is as before" test "$(getent group vapicvm || true)" = "$group_before"
host_keys() { [[ ! -e /var/lib/dkms/mok.key && ! -e /var/lib/dkms/mok.pub ]]; }
if [[ -n ${HOST_HAD_MOK:-} ]]; then
	skip "no DKMS signing key made on the host" "the host had one"
else
	check "no DKMS signing key made on the host" host_keys
fi
exit $failed
