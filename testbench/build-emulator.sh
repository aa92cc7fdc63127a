#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the emulated Intel machine (Bochs 3.0 from Debian trixie's source
# package) once per machine into $BUILD/emulator and reuse it afterwards.
#
# The corrections in testbench/emulator-patches/ are applied while building:
# Bochs 3.0 bugs that make it reject or mis-handle VMX configurations that
# real CPUs handle (each patch says which and why).
#
# Prints the path of the bochs binary on the last line of stdout.  If the
# source cannot be had, falls back to Debian 12's Bochs 2.7 package and says
# so loudly: 2.7 has no posted-interrupt processing.
set -euo pipefail

BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
OUT=$BUILD/emulator
STAMP=$OUT/bochs-3.0.stamp
PATCHES=$(cd "$(dirname "$0")/emulator-patches" && pwd)
# Optimised for this machine, which is the one that runs it, and without
# debug information: -O3 -march=native ran a bench boot 3% faster than
# Debian's -g -O2, with the same serial log, and compiles in less time.
OPTFLAGS="-O3 -march=native"
# The stamp names the patches and the flags: a change to either rebuilds.
PATCH_ID=$( (echo "$OPTFLAGS"; cat "$PATCHES"/*.patch) | sha256sum | cut -c1-16)

log() { echo "emulator: $*" >&2; }

if [[ -x $OUT/bin/bochs && -f $STAMP && $(cat "$STAMP") == "$PATCH_ID" ]]; then
	echo "$OUT/bin/bochs"
	exit 0
fi

mkdir -p "$OUT/src"
cd "$OUT/src"

fetch_source() {
	# A private apt configuration with a deb-src entry for trixie, made
	# from this machine's own Debian sources (same mirror, same keyring).
	local uri keyring
	uri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
	      grep -v security | head -n1 || true)
	keyring=$(sed -n 's/^Signed-By:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
		  head -n1 || true)
	if [[ -z $uri ]]; then
		uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^http/) { print $i; exit } }' \
		      /etc/apt/sources.list 2>/dev/null || true)
	fi
	uri=${uri:-http://deb.debian.org/debian}
	keyring=${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}
	echo "deb-src [signed-by=$keyring] $uri trixie main" > sources.list
	mkdir -p lists/partial
	local aptopts=(-o Dir::Etc::SourceList="$PWD/sources.list"
		       -o Dir::Etc::SourceParts=/dev/null
		       -o Dir::State::Lists="$PWD/lists"
		       -o APT::Sandbox::User=root)
	apt-get "${aptopts[@]}" update >apt-update.log 2>&1 || true
	# The .dsc has been seen to answer 404 while both tarballs arrive and
	# are hash-checked against the signed Sources index: judge by the
	# tarball, not by apt-get's exit code.
	apt-get "${aptopts[@]}" source --download-only bochs >apt-source.log 2>&1 || true
	ls bochs_3.0*.orig.tar.* >/dev/null 2>&1
}

if ! ls bochs_3.0*.orig.tar.* >/dev/null 2>&1 && ! fetch_source; then
	log "************************************************************"
	log "Bochs 3.0 source could not be fetched; falling back to the"
	log "Debian 12 bochs 2.7 package. Posted interrupts are NOT emulated"
	log "by 2.7: the posted-interrupt tier cannot be tested."
	log "************************************************************"
	if ! command -v bochs >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q bochs bochs-term >&2
	fi
	command -v bochs
	exit 0
fi

rm -rf bochs-3.0
tar xf bochs_3.0*.orig.tar.*
cd bochs-3.0

for p in "$PATCHES"/*.patch; do
	log "applying $(basename "$p")"
	patch -p1 --no-backup-if-mismatch <"$p" >&2
done

log "configuring Bochs 3.0"
CFLAGS=$OPTFLAGS CXXFLAGS=$OPTFLAGS ./configure --prefix="$OUT" --enable-x86-64 --enable-vmx=2 --enable-smp \
	--enable-cpu-level=6 --enable-all-optimizations --enable-pci \
	--enable-avx --enable-evex --with-nogui --enable-plugins=no \
	--disable-debugger --enable-usb=no --enable-ne2000=no --enable-sb16=no \
	--enable-es1370=no --enable-gameport=no --enable-busmouse=no \
	--disable-docbook >configure.log 2>&1 || { tail -n 30 configure.log >&2; exit 1; }
log "building Bochs 3.0 (about a minute on 2 cores)"
make -j"$(nproc)" >make.log 2>&1 || { tail -n 30 make.log >&2; exit 1; }
mkdir -p "$OUT/bin"
# Replace, never overwrite: a running emulator keeps its own copy.
cp bochs "$OUT/bin/bochs.new"
mv -f "$OUT/bin/bochs.new" "$OUT/bin/bochs"
echo "$PATCH_ID" > "$STAMP"
echo "$OUT/bin/bochs"
