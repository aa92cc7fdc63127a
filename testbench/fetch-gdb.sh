#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch Debian's gdb-minimal (gdb without Python) and unpack (never
# install: it conflicts with the full gdb package) it into $BUILD/gdb, for
# the main job's test of vapicvm-run --gdb inside the emulated machine.
# The libraries it needs are installed by setup-host.sh; the bench copies
# the binary and those libraries into the initramfs.  Prints the gdb
# binary's path on the last line of stdout.
set -euo pipefail

BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
out=$BUILD/gdb

if [[ -x $out/gdb && -f $out/.complete ]]; then
	echo "$out/gdb"
	exit 0
fi

rm -rf "$out"
mkdir -p "$out/deb"
cd "$out/deb"
if ! apt-get -o APT::Sandbox::User=root download gdb-minimal >download.log 2>&1; then
	cat download.log >&2
	echo "fetch-gdb: cannot download gdb-minimal" >&2
	exit 1
fi
dpkg -x gdb-minimal_*.deb root
cp root/usr/bin/gdb "$out/gdb"
cd "$out"
rm -rf "$out/deb"
if ldd "$out/gdb" | grep -q "not found"; then
	ldd "$out/gdb" >&2
	echo "fetch-gdb: libraries missing (testbench/setup-host.sh installs them)" >&2
	exit 1
fi
touch "$out/.complete"
echo "$out/gdb"
