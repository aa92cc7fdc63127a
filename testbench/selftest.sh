#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The bench checks itself: a run with a planted failing test and a planted
# module that WARNs and prints a KASAN-like report must fail, and must name
# each failure.  Prints TAP.  (Every kind of failure, each kernel-problem
# pattern included, is also judged from recorded serial logs by the bench's
# unit tests: testbench/tests/.)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
out=$BUILD/bench-plant.log
echo "TAP version 13"
echo "1..4"
BENCH_DIR=$BUILD/bench-plant CONFIGS=skylake-1 TESTS=device_test PLANT=1 SKIP_HOST_TESTS=1 \
	"$ROOT/testbench/bench.sh" check >"$out" 2>&1
rc=$?
n=1
check() { # description condition...
	local d=$1
	shift
	if "$@"; then echo "ok $n - $d"; else echo "not ok $n - $d"; fi
	n=$((n + 1))
}
check "a run with planted failures exits non-zero" test $rc -ne 0
check "the planted failing test is reported" grep -q '^not ok 2 global.planted_failure' "$out"
check "the planted kernel WARN is reported" grep -q 'WARNING: CPU.*planted_warn' "$out"
check "the planted KASAN report is reported" grep -q '^#   .*BUG: KASAN: planted-report' "$out"
if grep -q '^not ok' <(grep -v planted "$out" | grep -E '^not ok .*(device_test|did not)'); then
	echo "# unexpected failures in the planted run:"
	grep '^not ok' "$out" | sed 's/^/#   /'
fi
tail -n 1 "$out" | sed 's/^/# planted run: /'
