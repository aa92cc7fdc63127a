#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug bench machine's kernel once from Debian's linux-source-6.1
# (KASAN, KFENCE, UBSAN, lockdep, DEBUG_ATOMIC_SLEEP, debug objects: see
# testbench/debug-kernel/debug.config) into $BUILD/kernel/debug-<version>-<config hash>,
# reused afterwards (a .complete stamp, as fetch-kernel.sh does).  The
# directory holds vmlinuz, config, modules/ (KVM's) like fetch-kernel.sh's,
# and src/: the configured, built source tree the module builds against
# (KDIR).  Prints that directory on the last line of stdout.
#
#   build-debug-kernel.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$(cd "$here/.." && pwd)/build}
fragment=$here/debug-kernel/debug.config
tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n1 || true)
if [[ -z $tarball ]]; then
	echo "build-debug-kernel: no /usr/src/linux-source-6.1.tar.* (package linux-source-6.1)" >&2
	exit 1
fi
# Bump when the way the kernel is built changes (not for comments): the
# directory's name changes with it and with the configuration, so a stale
# build is never reused.
recipe=1
version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
hash=$( (echo "recipe $recipe"; cat "$fragment") | sha1sum | cut -c1-8)
out=$BUILD/kernel/debug-$version-$hash

if [[ -f $out/vmlinuz && -f $out/.complete ]]; then
	echo "$out"
	exit 0
fi

rm -rf "$out"
mkdir -p "$out/src" "$out/modules"
log=$out/build.log
start=$SECONDS
echo "build-debug-kernel: building $out (log: $log)" >&2
tar -xf "$tarball" -C "$out/src" --strip-components=1
src=$out/src
fail() {
	tail -n 40 "$log" >&2
	echo "build-debug-kernel: $*" >&2
	exit 1
}
make -C "$src" KCONFIG_ALLCONFIG="$fragment" allnoconfig >>"$log" 2>&1 || fail "configuration failed"
# Kconfig drops an option whose dependencies are not met without a word:
# every option the fragment turns on must be on.
missing=()
while read -r line; do
	grep -qx "$line" "$src/.config" || missing+=("$line")
done < <(grep -E '^CONFIG_[A-Z0-9_]+=[ym]$' "$fragment")
if ((${#missing[@]})); then
	fail "options not set by Kconfig: ${missing[*]}"
fi
nice -n 10 make -C "$src" -j"$(nproc)" bzImage modules >>"$log" 2>&1 || fail "build failed"
cp "$src/arch/x86/boot/bzImage" "$out/vmlinuz"
cp "$src/.config" "$out/config"
for m in virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-intel; do
	cp "$src/$m.ko" "$out/modules/"
done
echo "$((SECONDS - start))" >"$out/build_seconds"
echo "build-debug-kernel: built in $((SECONDS - start)) s" >&2
touch "$out/.complete"
echo "$out"
