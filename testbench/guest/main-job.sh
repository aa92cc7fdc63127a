#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The bench's main job (bench.sh run; bench.sh check runs it with the
# argument "check" as the test vmm_guests), in the emulated machine: guests
# through vapicvm-run, reported as TAP.
#   1. minimal-vmm: the documentation's example VMM
#   2. the multiboot test kernel on 1 vCPU, then on 2 (APs via INIT/SIPI)
#   3. the unmodified Debian kernel on 2 vCPUs, booting from an ext4 disk on
#      vapicvm-run's virtio-mmio block device (--disk; queue notifications
#      through an ioeventfd, completions through an irqfd on ISA IRQ 5): its
#      serial port is interrupt-driven (ISA IRQ 4 through vapicvm-run's I/O
#      APIC), the busybox initramfs loads the virtio and ext4 modules and
#      switches to the disk, whose /init checks what it reads and writes,
#      writes to the tty and prints "GUEST-LINUX-BOOT: ok cpus=2 disk=ok
#      irq=ioapic uart_irqs=K ..." and powers off; vapicvm-run's --stats
#      must show the interrupts of I/O APIC pins 4 and 5; before it powers
#      off it waits (vapicvm_stat_hold) while vapicvm-stat takes a table of
#      the running VM, which the job prints again as its last lines
#   4. memory-backing-test: memfd and hugetlbfs guest RAM shared with a second
#      mapping, slots moved and removed under a running guest (two 2 MiB huge
#      pages are reserved for it, and released after)
#   5. gdb-multiboot: vapicvm-run --gdb with Debian's gdb in batch mode on the
#      multiboot test kernel: a breakpoint, two single steps, registers,
#      memory read and written (the guest then prints what gdb wrote), a
#      hardware breakpoint; then the guest ends as usual
# Each guest's boot time is printed as "# time <name>: <seconds> s".
B=/lib/vapicvm-bench
BIN=$B/bin
P=$B/payload
n=0
fail=0
GUEST_TIMEOUT=30	# seconds of the emulated machine's clock; a boot takes 3-6
now() { cut -d' ' -f1 /proc/uptime; }
report() { # ok? name
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; fail=1; fi
}
# 1 if file lacks any of the patterns (one per line), with a line for each.
lacks_patterns() { # file where patterns
	file=$1 where=$2 patterns=$3 lacks=0
	old_ifs=$IFS
	IFS='
'
	set -f
	for pattern in $patterns; do
		grep -q -- "$pattern" "$file" ||
			{ echo "# $name: no \"$pattern\" in $where"; lacks=1; }
	done
	set +f
	IFS=$old_ifs
	return $lacks
}
guest() { # name expected-status log-patterns command... (patterns: one per line, all must match)
	name=$1 want=$2 patterns=$3
	shift 3
	t0=$(now)
	# A hung guest is a failure with its log, not a bench timeout.
	timeout "$GUEST_TIMEOUT" "$@" </dev/null >/tmp/$name.out 2>&1
	rc=$?
	guest_judge
}
guest_judge() { # after guest or guest_with_stat: $name $want $patterns $rc $t0 [$stat_ok]
	t1=$(now)
	sed "s/^/# $name| /" /tmp/$name.out
	echo "# time $name: $(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }') s (guest-visible wall clock of the emulated machine)"
	ok=${stat_ok:-0}
	stat_ok=
	[ "$rc" = "$want" ] || { echo "# $name: exit status $rc, expected $want"; ok=1; }
	lacks_patterns /tmp/$name.out "the output" "$patterns" || ok=1
	report $ok "$name"
}
# As guest, for the Linux guest started with vapicvm_stat_hold: when it
# prints GUEST-LINUX-HOLD it waits for a line on its console, and meanwhile
# vapicvm-stat takes a table of the running VM into /tmp/$name.stat.
guest_with_stat() { # name expected-status log-patterns command...
	name=$1 want=$2 patterns=$3
	shift 3
	t0=$(now)
	rm -f /tmp/$name.fifo /tmp/$name.stat
	mkfifo /tmp/$name.fifo
	timeout "$GUEST_TIMEOUT" "$@" </tmp/$name.fifo >/tmp/$name.out 2>&1 &
	vmm=$!
	exec 3>/tmp/$name.fifo
	i=0
	while ! grep -q GUEST-LINUX-HOLD /tmp/$name.out && kill -0 $vmm 2>/dev/null &&
	      [ $i -lt 600 ]; do
		sleep 0.1 2>/dev/null || sleep 1
		i=$((i + 1))
	done
	stat_ok=1
	if [ ! -d /proc/sys/net ]; then
		# No networking (the debug kernel): no netlink family to read.
		echo "# $name: this kernel has no networking: no vapicvm-stat table" >/tmp/$name.stat
		stat_ok=0
	elif ! grep -q GUEST-LINUX-HOLD /tmp/$name.out; then
		echo "# $name: the guest never held for vapicvm-stat" >/tmp/$name.stat
	elif $BIN/vapicvm-stat >>/tmp/$name.stat 2>&1; then
		stat_ok=0
	else
		echo "# $name: vapicvm-stat failed: exit status $?" >>/tmp/$name.stat
	fi
	echo go >&3
	exec 3>&-
	wait $vmm
	rc=$?
	guest_judge
}

echo "TAP version 13"
echo "1..6"
guest minimal-vmm 0 "guest said: Hello from a vapicvm guest" $BIN/minimal-vmm
guest multiboot-1cpu 1 "MBTEST: cpus=1 up=1 result=ok" \
	$BIN/vapicvm-run -v -m 32M -c 1 -k $BIN/mbtest.elf -p "mbtest one" --stats
guest multiboot-2cpu 1 "MBTEST: cpus=2 up=2 result=ok" \
	$BIN/vapicvm-run -v -m 32M -c 2 -k $BIN/mbtest.elf -p "mbtest two" --stats
if [ -f $P/vmlinuz ] && [ -f $P/linux-disk.img ]; then
	guest_with_stat linux-2cpu 0 "GUEST-LINUX-BOOT: ok cpus=2 disk=ok irq=ioapic
vapicvm-run: I/O APIC: pin 4 (ttyS0/16550) delivered=[1-9]
vapicvm-run: I/O APIC: pin 5 (virtio-blk) delivered=[1-9]" \
		$BIN/vapicvm-run -v -m 256M -c 2 -k $P/vmlinuz -i $P/linux-initrd.cpio \
		--disk $P/linux-disk.img --stats \
		-p "console=ttyS0 earlyprintk=serial,ttyS0,115200 acpi=off tsc=reliable nokaslr mitigations=off panic=-1 loglevel=4 vapicvm_stat_hold"
else
	n=$((n + 1))
	echo "not ok $n linux-2cpu # no payload (build/kernel/*/vmlinuz or its guest-modules missing when userspace was built)"
	fail=1
fi
# A kernel without hugetlbfs (the bench's debug kernel) skips test 2.
if [ -e /proc/sys/vm/nr_hugepages ]; then
	echo 2 >/proc/sys/vm/nr_hugepages
	huge="^ok 2 hugetlb-shared$"
else
	huge="^ok 2 hugetlb-shared # SKIP this kernel has no hugetlbfs$"
fi
guest memory-backing 0 "^ok 1 memfd-shared$
$huge
^ok 3 move-slot$
^ok 4 remove-slot$" $BIN/memory-backing-test
[ -e /proc/sys/vm/nr_hugepages ] && echo 0 >/proc/sys/vm/nr_hugepages

# gdb drives vapicvm-run over loopback TCP; the patterns are gdb's output
# (the addresses are mbtest.elf's, which gdb reads the symbols of).
gdb_guest() {
	name=gdb-multiboot port=1234
	if [ ! -x $BIN/gdb ]; then
		report 1 "$name # no gdb in the initramfs (testbench/fetch-gdb.sh)"
		return
	fi
	# The stub listens on loopback TCP: the bench's debug kernel has no
	# TCP/IP, so there the test is skipped (it runs on every other).
	if [ ! -d /proc/sys/net/ipv4 ]; then
		n=$((n + 1))
		echo "ok $n $name # SKIP this kernel has no TCP/IP for gdb's connection"
		return
	fi
	ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
	t0=$(now)
	timeout "$GUEST_TIMEOUT" $BIN/vapicvm-run -v -m 32M -c 1 -k $BIN/mbtest.elf \
		-p "mbtest gdb" --no-stdin --gdb $port </dev/null >/tmp/$name.out 2>&1 &
	vmm=$!
	i=0
	while ! grep -q "waiting for gdb" /tmp/$name.out && [ $i -lt 100 ]; do
		sleep 0.1 2>/dev/null || sleep 1
		i=$((i + 1))
	done
	timeout "$GUEST_TIMEOUT" $BIN/gdb -batch -nx $BIN/mbtest.elf \
		-ex "target remote 127.0.0.1:$port" \
		-ex "info registers eip" \
		-ex "break puts" -ex "continue" \
		-ex 'x/s $eax' -ex 'set var *(char *)$eax = 88' \
		-ex "stepi" -ex "stepi" \
		-ex 'printf "esp after two pushes: %#x\n", $esp' \
		-ex "info registers" -ex 'x/2i $pc' \
		-ex "delete" -ex "hbreak done" -ex "continue" \
		-ex "delete" -ex "continue" </dev/null >/tmp/$name.gdb 2>&1
	gdb_rc=$?
	wait $vmm
	rc=$?
	t1=$(now)
	sed "s/^/# $name| /" /tmp/$name.out
	sed "s/^/# $name gdb| /" /tmp/$name.gdb
	echo "# time $name: $(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }') s (guest-visible wall clock of the emulated machine)"
	ok=0
	[ "$rc" = 1 ] || { echo "# $name: vapicvm-run exit status $rc, expected 1"; ok=1; }
	[ "$gdb_rc" = 0 ] || { echo "# $name: gdb exit status $gdb_rc"; ok=1; }
	lacks_patterns /tmp/$name.out "vapicvm-run's output" "gdb connected
XBTEST: hello from a multiboot kernel
MBTEST: cpus=1 up=1 result=ok" || ok=1
	lacks_patterns /tmp/$name.gdb "gdb's output" '^eip  *0x10000c  *0x10000c <_start>
Breakpoint 1, 0x00100242 in puts ()
^0x100316.*"MBTEST: hello from a multiboot kernel
^0x00100244 in puts ()
^esp after two pushes: 0x101444
^eax  *0x100316
^=> 0x100244 <puts+2>:.*mov  *%eax,%esi
^Hardware assisted breakpoint 2 at 0x1001c3
Breakpoint 2, 0x001001c3 in done ()
exited with code 01' || ok=1
	report $ok "$name"
}
gdb_guest

# Last, so that make run ends with it: the table of the Linux guest.
if [ -s /tmp/linux-2cpu.stat ]; then
	echo "# vapicvm-stat, taken while the Linux guest (linux-2cpu) ran:"
	sed "s/^/# vapicvm-stat| /" /tmp/linux-2cpu.stat
fi
exit $fail
