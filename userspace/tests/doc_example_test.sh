#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The documentation includes examples/minimal_vmm.cpp literally (TAP).
SRC=@SRC@
doc=$SRC/../Documentation/userspace-library.rst
ex=$SRC/examples/minimal_vmm.cpp
echo "1..3"
rc=0
if grep -q '^\.\. literalinclude:: \.\./userspace/examples/minimal_vmm\.cpp$' "$doc"; then
	echo "ok 1 userspace-library.rst includes examples/minimal_vmm.cpp"
else
	echo "not ok 1 userspace-library.rst includes examples/minimal_vmm.cpp"; rc=1
fi
lines=$(wc -l <"$ex")
if [ "$lines" -lt 200 ]; then
	echo "ok 2 the minimal VMM is under 200 lines ($lines)"
else
	echo "not ok 2 the minimal VMM is under 200 lines ($lines)"; rc=1
fi
# Every library call the document's prose names exists in the public headers.
missing=""
for sym in $(grep -o '``[A-Za-z_:]*::[a-z_]*()``' "$doc" | tr -d '`()' | sed 's/.*:://' | sort -u); do
	grep -rqw "$sym" "$SRC/include/vapicvm" || missing="$missing $sym"
done
if [ -z "$missing" ]; then
	echo "ok 3 the functions the document names exist"
else
	echo "not ok 3 the functions the document names exist: missing$missing"; rc=1
fi
exit $rc
