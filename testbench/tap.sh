# SPDX-License-Identifier: GPL-2.0
#
# TAP for the bench's host-side shell suites, sourced: check NAME COMMAND...
# runs the command and prints "ok N - NAME" or "not ok N - NAME" (then sets
# failed=1); skip NAME WHY prints a skipped result.  A suite ends with
# `exit $failed`.
n=0 failed=0
check() {
	local name=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		failed=1
	fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
