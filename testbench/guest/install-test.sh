#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The test install_test, in the emulated machine: vapicvm installed for real
# and used by an unprivileged user, as on a user's machine.  The bench
# stages `make install DESTDIR=... PREFIX=/usr` (the module placed for the
# kernel this machine boots) in $B/install-root; this copies it over / and
# then:
#   1. depmod finds the installed module, modprobe loads it by name, and
#      modinfo of the installed file shows its version and aliases
#   2. as kmod's static nodes do at boot, /dev/vapicvm is created from the
#      alias char-major-10-243 before the module is loaded, with the group
#      and mode of the installed udev rule (there is no udevd here: the test
#      applies the rule's GROUP and MODE as udev would), and the first open
#      loads the module
#   3. a user in the group vapicvm runs a guest with the installed
#      vapicvm-run, with a memlock limit set for its memory
#   4. a user outside the group is refused (EACCES), a member whose memlock
#      limit is too small for the guest's memory is refused (ENOMEM), and
#      both leave the module working
# TAP on stdout.
B=/lib/vapicvm-bench
ROOT=$B/install-root
n=0
fail=0
report() { # status name
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; fail=1; fi
}
MBTEST=$B/bin/mbtest.elf
run_as() { # user memlock-KiB command...
	user=$1 limit=$2
	shift 2
	(ulimit -l "$limit" && exec su -s /bin/sh "$user" -c "$*")
}

echo "TAP version 13"
echo "1..9"
release=$(uname -r)

cp -a "$ROOT"/. / 2>/tmp/install.err
report $? "the staged tree installs over /"
[ -s /tmp/install.err ] && sed 's/^/# /' /tmp/install.err

# 1. The module by name, from where make install put it.
rmmod vapicvm 2>/dev/null
depmod "$release" && modprobe vapicvm && [ -d /sys/module/vapicvm ] &&
	grep -q "updates/vapicvm.ko" "/lib/modules/$release/modules.dep"
report $? "depmod lists the installed module; modprobe loads it"
info=$(modinfo "/lib/modules/$release/updates/vapicvm.ko" 2>&1)
echo "$info" | grep -q "^version: *$(cat /sys/module/vapicvm/version)\$" &&
	echo "$info" | grep -q "^alias: *devname:vapicvm" &&
	echo "$info" | grep -q "^alias: *char-major-10-243" &&
	[ -n "$(cat /sys/module/vapicvm/version)" ]
report $? "modinfo of the installed module: version $(cat /sys/module/vapicvm/version 2>/dev/null), devname and char-major aliases"

# 2. The node before the module, the rule's permissions, load on first open.
rule=/etc/udev/rules.d/60-vapicvm.rules
group=$(sed -n 's/.*GROUP="\([^"]*\)".*/\1/p' $rule)
mode=$(sed -n 's/.*MODE="\([^"]*\)".*/\1/p' $rule)
grep -q 'KERNEL=="vapicvm"' $rule && [ "$group" = vapicvm ] && [ "$mode" = 0660 ]
report $? "the installed udev rule gives /dev/vapicvm to group $group, mode $mode"
grep -q "^vapicvm:" /etc/group || echo "vapicvm:x:900:vmuser" >>/etc/group
grep -q "^vmuser:" /etc/passwd || echo "vmuser:x:1000:1000::/tmp:/bin/sh" >>/etc/passwd
grep -q "^outsider:" /etc/passwd || echo "outsider:x:1001:1001::/tmp:/bin/sh" >>/etc/passwd
grep -q "^root:" /etc/passwd || echo "root:x:0:0::/:/bin/sh" >>/etc/passwd
rmmod vapicvm && [ ! -e /dev/vapicvm ] &&
	mknod /dev/vapicvm c 10 243 && chgrp "$group" /dev/vapicvm && chmod "$mode" /dev/vapicvm
report $? "module unloaded; /dev/vapicvm made as a static node (10:243, $group, $mode)"
echo /bin/modprobe >/proc/sys/kernel/modprobe

# 3. A guest as a member of the group, with a memlock limit (64 MiB).
out=/tmp/install-guest.out
run_as vmuser 65536 /usr/bin/vapicvm-run -m 32M -c 2 -k $MBTEST -p "\"mbtest installed\"" \
	--no-stdin >$out 2>&1
rc=$?
grep -q "MBTEST: cpus=2 up=2 result=ok" $out && [ $rc = 1 ] && [ -d /sys/module/vapicvm ]
report $? "vmuser (group vapicvm, ulimit -l 65536) runs a 2-vCPU guest; the open loaded the module (exit $rc)"
[ -d /sys/module/vapicvm ] || sed 's/^/# /' $out | tail -n 20

# 4. Refusals, each a clear error that leaves the module working.
run_as outsider 65536 /usr/bin/vapicvm-run -m 32M -k $MBTEST --no-stdin >$out 2>&1
rc=$?
[ $rc = 6 ] && grep -q -i "permission denied" $out
report $? "outsider (not in group vapicvm) is refused: exit $rc, $(head -n1 $out)"
run_as vmuser 8192 /usr/bin/vapicvm-run -m 32M -k $MBTEST --no-stdin >$out 2>&1
rc=$?
[ $rc = 6 ] && grep -q -i "cannot allocate memory\|memlock\|locked memory" $out
report $? "vmuser with ulimit -l 8192 is refused 32M of guest memory: exit $rc, $(head -n1 $out)"
run_as vmuser 65536 /usr/bin/vapicvm-run -m 32M -k $MBTEST -p "\"mbtest again\"" --no-stdin \
	>$out 2>&1
rc=$?
grep -q "MBTEST: cpus=1 up=1 result=ok" $out && [ $rc = 1 ] &&
	[ "$(cat /sys/class/misc/vapicvm/vms)" = 0 ]
report $? "after the refusals a guest runs again and no VM is left (exit $rc)"
exit $fail
