#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch the Debian kernel image whose ABI matches the headers the module is
# built against, and unpack (never install) it into $BUILD/kernel/<release>.
# Prints that directory on the last line of stdout.
#
#   fetch-kernel.sh <kernel release, e.g. 6.1.0-56-amd64>
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$(dirname "$here")/build}
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
"$here/unpack-kernel.sh" root "$release" "$out"
rm -rf "$out/deb"
touch "$out/.complete"
echo "$out"
