#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make install into a scratch DESTDIR with PREFIX=/usr, checked file by
# file: the module where the kernel looks for it, with its version and
# aliases; the udev rule; the library, its headers, pkg-config and CMake
# files; the tools; the man pages (lint-clean, of this version).  Then make
# uninstall must leave no file behind.  TAP on stdout.
#
#   install-tree-test.sh KDIR BUILD
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kdir=$1 build=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
# shellcheck source=../VERSION
. "$root/VERSION"
n=0 fail=0
check() { # name command...
	local name=$1
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
		fail=1
	fi
}
mk() { make -s -C "$root" KDIR="$kdir" BUILD="$build" DESTDIR="$dest" PREFIX=/usr "$@"; }

echo "TAP version 13"
echo "1..10"
check "make install DESTDIR=... PREFIX=/usr" mk install
release=$(modinfo -F vermagic "$root/vapicvm.ko" | cut -d' ' -f1)
ko=$dest/lib/modules/$release/updates/vapicvm.ko
check "the module in /lib/modules/$release/updates, version $VAPICVM_VERSION, aliases" sh -c "
	test -f '$ko' &&
	test \"\$(modinfo -F version '$ko')\" = '$VAPICVM_VERSION' &&
	modinfo -F alias '$ko' | grep -qx devname:vapicvm &&
	modinfo -F alias '$ko' | grep -qx char-major-10-243 &&
	test -n \"\$(modinfo -F description '$ko')\" && test -n \"\$(modinfo -F author '$ko')\" &&
	test \"\$(modinfo -F license '$ko')\" = GPL"
check "no depmod output in a DESTDIR (the system's index stays the system's)" \
	test ! -e "$dest/lib/modules/$release/modules.dep"
check "the udev rule: group vapicvm, mode 0660, static node" sh -c "
	rule='$dest/etc/udev/rules.d/60-vapicvm.rules'
	test \"\$(stat -c %a \"\$rule\")\" = 644 &&
	grep -q 'KERNEL==\"vapicvm\".*GROUP=\"vapicvm\".*MODE=\"0660\".*static_node=vapicvm' \"\$rule\""
check "library, soname $VAPICVM_SOVERSION, headers, pkg-config $VAPICVM_VERSION, CMake" sh -c "
	d='$dest/usr'
	test -f \$d/lib/libvapicvm.a && test -L \$d/lib/libvapicvm.so &&
	objdump -p \$d/lib/libvapicvm.so.$VAPICVM_VERSION | grep -q 'SONAME *libvapicvm.so.$VAPICVM_SOVERSION\$' &&
	test -f \$d/include/linux/vapicvm.h && test -f \$d/include/vapicvm/vapicvm.hpp &&
	grep -q '^Version: $VAPICVM_VERSION\$' \$d/lib/pkgconfig/vapicvm.pc &&
	grep -q '\"$VAPICVM_VERSION\"' \$d/lib/cmake/vapicvm/vapicvm-config-version.cmake"
check "tools, executable, report version $VAPICVM_VERSION" sh -c "
	'$dest/usr/bin/vapicvm-run' --version | grep -q ' $VAPICVM_VERSION ' &&
	'$dest/usr/bin/vapicvm-stat' --version | grep -q ' $VAPICVM_VERSION\$' &&
	test \"\$(stat -c %a '$dest/usr/bin/vapicvm-run')\" = 755"
man=$dest/usr/share/man
check "man pages vapicvm-run(1) vapicvm-stat(1) libvapicvm(3) vapicvm(4), of version $VAPICVM_VERSION" sh -c "
	for page in man1/vapicvm-run.1 man1/vapicvm-stat.1 man3/libvapicvm.3 man4/vapicvm.4; do
		grep -q '^\\.TH .* \"vapicvm $VAPICVM_VERSION\"' '$man/'\$page || { echo \"\$page: wrong .TH\"; exit 1; }
	done"
check "man pages render without a groff warning" sh -c "
	for page in '$man'/man?/*; do
		w=\$(groff -man -ww -z -Tutf8 \"\$page\" 2>&1) && test -z \"\$w\" || { echo \"\$page: \$w\"; exit 1; }
	done"
check "make uninstall" mk uninstall
check "make uninstall leaves no file" sh -c "test -z \"\$(find '$dest' ! -type d)\" || { find '$dest' ! -type d; exit 1; }"
exit $fail
