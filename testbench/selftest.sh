#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The bench checks itself: a run with a planted failing test and a planted
# module that WARNs and prints a KASAN-like report must fail, and must name
# each failure.  With SELFTEST_DEBUG=1 (the bench sets it when its run had
# a debug-kernel machine) the run has a second machine with the debug
# kernel, where the planted module also commits real bugs (an out-of-bounds
# read, an oversized shift, a sleep in atomic context, an inverted lock
# order, an armed timer freed): the real KASAN, UBSAN, DEBUG_ATOMIC_SLEEP,
# lockdep and debug-objects reports must each be named too; without it
# those checks are skipped.  Prints TAP.  (Every
# kind of failure, each kernel-problem pattern included, is also judged
# from recorded serial logs by the bench's unit tests: testbench/tests/.)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
out=$BUILD/bench-plant.log
echo "TAP version 13"
echo "1..10"
configs=skylake-1
if [[ ${SELFTEST_DEBUG:-1} != 0 ]]; then
	# The debug machine with one CPU: the quicker boot.
	configs+=" skylake-1-debug:corei7_skylake_x:1:debug"
fi
BENCH_DIR=$BUILD/bench-plant CONFIGS=$configs TESTS=device_test PLANT=1 \
	SKIP_HOST_TESTS=1 "$ROOT/testbench/bench.sh" check >"$out" 2>&1
rc=$?
n=1
check() { # description condition...
	local d=$1
	shift
	if "$@"; then echo "ok $n - $d"; else echo "not ok $n - $d"; fi
	n=$((n + 1))
}
# The checks of the debug kernel's real reports.
check_debug() { # description condition...
	if [[ ${SELFTEST_DEBUG:-1} != 0 ]]; then
		check "$@"
	else
		echo "ok $n - $1 # SKIP no debug-kernel machine in this run"
		n=$((n + 1))
	fi
}
check "a run with planted failures exits non-zero" test $rc -ne 0
check "the planted failing test is reported" grep -q '^not ok 2 global.planted_failure' "$out"
check "the planted kernel WARN is reported" grep -q 'WARNING: CPU.*planted_warn' "$out"
check "the planted KASAN report is reported" grep -q '^#   .*BUG: KASAN: planted-report' "$out"
check_debug "the debug kernel's KASAN report is reported" \
	grep -q '^#   .*BUG: KASAN: slab-out-of-bounds in planted_kasan' "$out"
check_debug "the debug kernel's UBSAN report is reported" \
	grep -q '^#   .*UBSAN: shift-out-of-bounds in .*planted_warn.c' "$out"
check_debug "the debug kernel's sleep-in-atomic report is reported" \
	grep -q '^#   .*BUG: sleeping function called from invalid context' "$out"
check_debug "the debug kernel's lockdep report is reported" \
	grep -q '^#   .*WARNING: possible circular locking dependency detected' "$out"
check_debug "the debug kernel's debug-objects report is reported" \
	grep -q '^#   .*ODEBUG: free active .*object type: timer_list' "$out"
# Only the planted failures: vapicvm.ko loads and unloads and device_test
# passes beside them (a planted run that boots without the module would
# pass every check above).
unexpected() {
	grep '^not ok' "$out" | grep -v -e 'global.planted_failure$' -e ': kernel reported a problem:$'
}
check "nothing but the planted failures fails" test -z "$(unexpected)"
if [[ -n $(unexpected) ]]; then
	echo "# unexpected failures in the planted run:"
	unexpected | sed 's/^/#   /'
fi
tail -n 1 "$out" | sed 's/^/# planted run: /'
