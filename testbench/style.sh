#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Style checks: checkpatch --strict on the kernel side (taken at run time
# from Debian's linux-source package, never copied into the tree) and
# clang-format on the C++ side.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
tools=$BUILD/tools
src=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | head -n1)
[[ -n $src ]] || { echo "style: apt-get install linux-source" >&2; exit 1; }
if [[ ! -x $tools/scripts/checkpatch.pl ]]; then
	mkdir -p "$tools"
	tar -xJf "$src" -C "$tools" --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
fi
rc=0
kernel_files=$(cd "$ROOT" && ls module/*.[chS] uapi/linux/*.h)
# SPDX on uapi headers and asm files is checked too; --no-tree: out of tree.
(cd "$ROOT" && "$tools/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
	--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f $kernel_files) || rc=1
cxx_files=$(cd "$ROOT" && find userspace testbench -name '*.cpp' -o -name '*.hpp' | sort)
if [[ -n $cxx_files ]] && command -v clang-format >/dev/null; then
	(cd "$ROOT" && clang-format --dry-run --Werror $cxx_files) || rc=1
fi
exit $rc
