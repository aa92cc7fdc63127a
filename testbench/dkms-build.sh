#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vapicvm.ko through DKMS, signed, for one kernel release, with every DKMS
# tree under a directory of the build (nothing of DKMS's on the host):
#
#   testbench/dkms-build.sh OUT RELEASE KDIR
#
# make dkms-sources puts the module's sources in OUT/src/vapicvm-<version>;
# dkms add, build (signed with OUT/signing/signing_key.{priv,x509}, made
# once with openssl), install into OUT/install, then remove.  The module
# DKMS built and installed is left in OUT/vapicvm.ko; the last output line
# is its path.
set -euo pipefail

out=$1 release=$2 kdir=$3
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../VERSION
. "$root/VERSION"
version=$VAPICVM_VERSION

# The signing key and certificate: made once, reused by later runs.
signing=$out/signing
if [[ ! -f $signing/signing_key.priv || ! -f $signing/signing_key.x509 ]]; then
	mkdir -p "$signing"
	openssl req -new -x509 -nodes -days 36500 -subj "/CN=vapicvm bench signing key" \
		-newkey rsa:2048 -keyout "$signing/signing_key.priv" \
		-outform DER -out "$signing/signing_key.x509" 2>/dev/null
fi

rm -rf "$out/dkms" "$out/src" "$out/install" "$out/vapicvm.ko"
# dkms installs only into a kernel it finds in the install tree.
mkdir -p "$out/dkms" "$out/src" "$out/install/$release"
make -s -C "$root" dkms-sources DKMS_SRCDIR="$out/src/vapicvm-$version" >&2

trees=(--dkmstree "$out/dkms" --sourcetree "$out/src" --installtree "$out/install")
mv=(-m vapicvm -v "$version")
export mok_signing_key=$signing/signing_key.priv
export mok_certificate=$signing/signing_key.x509

echo "dkms add" >&2
dkms add "${trees[@]}" "${mv[@]}" >&2
echo "dkms build for $release against $kdir" >&2
dkms build "${trees[@]}" "${mv[@]}" -k "$release" --kernelsourcedir "$kdir" >&2 || {
	cat "$out/dkms/vapicvm/$version/build/make.log" >&2 2>/dev/null || true
	exit 1
}
echo "dkms install into $out/install" >&2
dkms install "${trees[@]}" "${mv[@]}" -k "$release" --kernelsourcedir "$kdir" --no-depmod >&2
dkms status "${trees[@]}" -m vapicvm >&2
installed=$(find "$out/install/$release" -name 'vapicvm.ko*' | head -n1)
[[ -n $installed ]] || { echo "dkms installed no vapicvm.ko" >&2; exit 1; }
case $installed in
*.ko) cp "$installed" "$out/vapicvm.ko" ;;
*.ko.xz) xz -dc "$installed" >"$out/vapicvm.ko" ;;
*.ko.gz) gzip -dc "$installed" >"$out/vapicvm.ko" ;;
*) echo "unknown module file $installed" >&2; exit 1 ;;
esac
echo "dkms remove" >&2
dkms remove "${trees[@]}" "${mv[@]}" --all --no-depmod >&2
if find "$out/install" -name 'vapicvm.ko*' | grep -q .; then
	echo "dkms remove left a module in $out/install" >&2
	exit 1
fi
echo "$out/vapicvm.ko"
