#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Consumer test (TAP): install into a scratch DESTDIR, then build
# tests/consumer against that copy with CMake's find_package(vapicvm) and
# with pkg-config, shared and static, and run the results.
SRC=@SRC@
BUILD=@BUILD@
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
prefix=$root/usr/local
# Only the scratch copy of vapicvm, and the system's own .pc files
# (libnl-genl-3.0, which vapicvm.pc requires privately).
syspc=$(pkg-config --variable pc_path pkg-config)
n=0
failed=0
echo "TAP version 13"
echo "1..7"
check() { # name command...
	name=$1
	shift
	n=$((n + 1))
	if "$@" >"$tmp/log" 2>&1; then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		sed 's/^/#   /' "$tmp/log" | tail -n 30
		failed=1
	fi
}
check "make install DESTDIR" make -s -C "$SRC" BUILD="$BUILD" install DESTDIR="$root" PREFIX=/usr/local
check "cmake find_package(vapicvm) build" sh -c "
	cmake -S '$SRC/tests/consumer' -B '$tmp/cmake' -DCMAKE_PREFIX_PATH='$prefix' &&
	cmake --build '$tmp/cmake'"
check "cmake consumer runs (shared, static)" sh -c "
	LD_LIBRARY_PATH='$prefix/lib' '$tmp/cmake/consumer' &&
	'$tmp/cmake/consumer_static' &&
	! ldd '$tmp/cmake/consumer_static' | grep -q libvapicvm"
check "pkg-config build and run (shared)" sh -c "
	export PKG_CONFIG_PATH='$prefix/lib/pkgconfig' PKG_CONFIG_LIBDIR='$syspc'
	test \"\$(pkg-config --modversion vapicvm)\" = @VERSION@ &&
	g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror -o '$tmp/pc' '$SRC/tests/consumer/consumer.cpp' \$(pkg-config --cflags --libs vapicvm) &&
	LD_LIBRARY_PATH='$prefix/lib' '$tmp/pc'"
check "pkg-config build and run (static)" sh -c "
	export PKG_CONFIG_PATH='$prefix/lib/pkgconfig' PKG_CONFIG_LIBDIR='$syspc'
	g++ -std=c++20 -static -o '$tmp/pcs' '$SRC/tests/consumer/consumer.cpp' \$(pkg-config --static --cflags --libs vapicvm) &&
	'$tmp/pcs'"
check "pkg-config Cflags: a plain -I, no -isystem" sh -c "
	export PKG_CONFIG_PATH='$prefix/lib/pkgconfig' PKG_CONFIG_LIBDIR='$syspc'
	pkg-config --cflags vapicvm | grep -q -- '-I' &&
	! pkg-config --cflags vapicvm | grep -q -- '-isystem'"
check "installed files" sh -c "
	test -f '$prefix/include/vapicvm/vapicvm.hpp' && test -f '$prefix/include/linux/vapicvm.h' &&
	test -f '$prefix/include/vapicvm/vmm/vmm.hpp' &&
	test -L '$prefix/lib/libvapicvm.so' && test -L '$prefix/lib/libvapicvm.so.2' &&
	objdump -p '$prefix/lib/libvapicvm.so.@VERSION@' | grep -q 'SONAME.*libvapicvm.so.2' &&
	test -x '$prefix/bin/vapicvm-run' && '$prefix/bin/vapicvm-run' --version &&
	test -x '$prefix/bin/vapicvm-stat' && '$prefix/bin/vapicvm-stat' --version &&
	test -f '$prefix/share/man/man1/vapicvm-stat.1' && test -f '$prefix/share/man/man1/vapicvm-run.1'"
exit $failed
