#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The module DKMS built (testbench/dkms-build.sh), as TAP: its version is
# VERSION's, it is signed by the bench's key, the dkms.conf DKMS used and
# debian/changelog agree with VERSION, and DKMS left nothing behind.
#
#   testbench/host-dkms-test.sh DKMS_DIR RELEASE
set -uo pipefail

dir=$1 release=$2
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../VERSION
. "$root/VERSION"
module=$dir/vapicvm.ko
cert=$dir/signing/signing_key.x509

# shellcheck source=tap.sh
. "$root/testbench/tap.sh"
field() { modinfo -F "$1" "$module" 2>/dev/null; }
say() { echo "# $*"; }

echo "TAP version 13"
echo "1..8"
if [[ ! -f $module ]]; then
	say "no $module: the DKMS build failed"
fi
modinfo "$module" 2>&1 | grep -E '^(version|vermagic|signer|sig_key|sig_hashalgo):' | sed 's/^/# /'
check "dkms built vapicvm.ko" test -f "$module"
check "its version is VERSION's ($VAPICVM_VERSION)" test "$(field version)" = "$VAPICVM_VERSION"
check "it is built for $release" test "$(field vermagic | cut -d' ' -f1)" = "$release"
cn=$(openssl x509 -inform DER -in "$cert" -noout -subject -nameopt multiline 2>/dev/null |
	sed -n 's/^ *commonName *= *//p')
say "the bench key's CN: $cn"
check "signer is the bench key's CN" test -n "$cn" -a "$(field signer)" = "$cn"
check "sig_key is set" test -n "$(field sig_key)"
check "sig_hashalgo is sha256" test "$(field sig_hashalgo)" = sha256
conf=$dir/src/vapicvm-$VAPICVM_VERSION/dkms.conf
check "dkms.conf's PACKAGE_VERSION is VERSION's" \
	grep -qx "PACKAGE_VERSION=\"$VAPICVM_VERSION\"" "$conf"
changelog=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version 2>/dev/null)
say "debian/changelog: $changelog, VERSION: $VAPICVM_VERSION"
check "debian/changelog's version is VERSION's" test "$changelog" = "$VAPICVM_VERSION"
exit $failed
