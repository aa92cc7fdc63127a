#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Style checks: checkpatch --strict on the kernel side (taken at run time
# from Debian's linux-source package, never copied into the tree) and
# clang-format on the C++ side; the bench's Python is checked too.
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
checkpatch() {
	(cd "$ROOT" && "$tools/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
		--ignore FILE_PATH_CHANGES "$@") || rc=1
}
# Everything strict, with documented exceptions: the UAPI header cannot use
# BIT() (not available to userspace), and its X-macro tables (the one list
# of features, exit reasons and counters) and its _Pragma()s for C++ are
# what checkpatch's macro and declaration heuristics misread; compat.h
# exists to compare kernel versions and declare what older kernels lack
# (its fallback for asm_goto_output() is the kernel's own macro);
# checkpatch misreads asm-goto label operands ("%l[fail]") as a
# spacing error; and trace.h is laid out as every TRACE_EVENT in the
# kernel is (KVM's trace.h included), which the line checks misread.
checkpatch -f $(cd "$ROOT" && ls module/*.[chS] | grep -v -e compat.h -e vmx_ops. -e trace.h)
checkpatch --ignore BIT_MACRO,COMPLEX_MACRO,MACRO_ARG_REUSE,CAMELCASE,LINE_SPACING \
	-f uapi/linux/vapicvm.h
checkpatch --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON,AVOID_EXTERNS,COMPLEX_MACRO,MACRO_WITH_FLOW_CONTROL \
	-f module/compat.h
checkpatch --ignore SPACING -f module/vmx_ops.h module/vmx_ops.c
checkpatch --ignore OPEN_ENDED_LINE,PARENTHESIS_ALIGNMENT,COMPLEX_MACRO -f module/trace.h
cxx_files=$(cd "$ROOT" && find userspace testbench -name '*.cpp' -o -name '*.hpp' | sort)
if [[ -n $cxx_files ]] && command -v clang-format >/dev/null; then
	(cd "$ROOT" && clang-format --dry-run --Werror $cxx_files) || rc=1
fi
# The bench's Python: it must compile; pyflakes and pycodestyle when installed
# (python3-pyflakes, pycodestyle), lines up to 100 columns as in the kernel.
py_files=$(cd "$ROOT" && find testbench -name '*.py' | sort)
(cd "$ROOT" && python3 -c 'import sys; [compile(open(f).read(), f, "exec") for f in sys.argv[1:]]' \
	$py_files) || rc=1
if command -v pyflakes3 >/dev/null; then
	(cd "$ROOT" && pyflakes3 $py_files) || rc=1
fi
if command -v pycodestyle >/dev/null; then
	(cd "$ROOT" && pycodestyle --max-line-length=100 $py_files) || rc=1
fi
exit $rc
