#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Public headers (TAP): each compiles on its own, as a user's first include,
# with -std=c++20 -Wall -Wextra -Wpedantic -Werror and a plain -I, under
# g++ and clang++ (each compiler that is installed); and the core layer
# (include/vapicvm/*.hpp, lib/*.cpp, lib/*.hpp) includes no VMM helper
# header (include/vapicvm/vmm/).
SRC=@SRC@
UAPI=@UAPI@
FLAGS="-std=c++20 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -x c++"
hdrs=$(cd "$SRC/include" && ls vapicvm/*.hpp vapicvm/vmm/*.hpp)
compilers=""
for c in ${CXX:-g++} clang++; do
	command -v "$c" >/dev/null 2>&1 && case " $compilers " in *" $c "*) ;; *) compilers="$compilers $c" ;; esac
done
total=1
for c in $compilers; do
	for h in $hdrs; do
		total=$((total + 1))
	done
done
echo "TAP version 13"
echo "1..$total"
n=0
rc=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for c in $compilers; do
	for h in $hdrs; do
		n=$((n + 1))
		if printf '#include <%s>\n' "$h" |
			$c $FLAGS -I"$SRC/include" -I"$UAPI" - >"$log" 2>&1; then
			echo "ok $n $c $h"
		else
			echo "not ok $n $c $h"
			sed 's/^/#   /' "$log" | head -n 30
			rc=1
		fi
	done
done
n=$((n + 1))
bad=$(cd "$SRC" && grep -l '#include.*vapicvm/vmm/' include/vapicvm/*.hpp lib/*.cpp lib/*.hpp 2>/dev/null)
if [ -z "$bad" ]; then
	echo "ok $n the core includes no helper header"
else
	echo "not ok $n the core includes no helper header:" $bad
	rc=1
fi
exit $rc
