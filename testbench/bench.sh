#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The emulated test bench.  No machine here has VMX or can load a module, so
# every test of the module runs in an emulated Intel machine (Bochs 3.0),
# booting the Debian kernel whose headers the module is built against, with
# the module and the tests in an initramfs; results come back through the
# serial console.
#
#   bench.sh check    set up, build, run every test on every bench machine
#   bench.sh run      set up, build, run the main job (a guest through vapicvm)
#
# Environment: BUILD (default ./build), CONFIGS (space-separated subset of
# the machine list below), JOBS (parallel boots, default: number of CPUs),
# BOOT_TIMEOUT (seconds per boot, default 1500), TESTS (subset of test
# binaries), KEEP_GOING=1 (do not stop at the first build error).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
BENCH=${BENCH_DIR:-$BUILD/bench}
MODE=${1:-check}
JOBS=${JOBS:-$(nproc)}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-1500}
export BUILD

# The bench machines: name, Bochs CPU model, CPU count.  skylake_x has
# APIC-register virtualization, virtual-interrupt delivery and posted
# interrupts; cnl has the TPR shadow, APIC-access and x2APIC virtualization
# only, so it exercises the fallback tiers on a real (emulated) CPU.
ALL_CONFIGS="skylake-1:corei7_skylake_x:1 skylake-2:corei7_skylake_x:2 cnl-1:corei3_cnl:1 cnl-2:corei3_cnl:2"
RUN_CONFIG="skylake-2:corei7_skylake_x:2"

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

step_start=0
step() { step_start=$(date +%s.%N); log "$*"; }
step_done() { log "  ($(awk -v s="$step_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f s", e - s }'))"; }

# ---------------------------------------------------------------- set-up
step "host packages"
"$ROOT/testbench/setup-host.sh"

# The kernel release whose headers Debian's linux-headers-amd64 points at;
# the image we boot must be the same release.
KREL=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | grep -o 'linux-headers-[^ ,]*' | head -n1)
KREL=${KREL#linux-headers-}
KDIR=/usr/src/linux-headers-$KREL
[[ -d $KDIR ]] || die "kernel headers $KDIR missing"
log "kernel $KREL"

step "emulator"
BOCHS=$("$ROOT/testbench/build-emulator.sh" | tail -n1)
[[ -x $BOCHS ]] || die "no emulator"
if [[ $BOCHS != $BUILD/* ]]; then
	log "WARNING: using the fallback emulator $BOCHS (Bochs 2.7): posted interrupts untested"
fi
step_done

step "kernel image"
KIMG=$("$ROOT/testbench/fetch-kernel.sh" "$KREL" | tail -n1)
step_done

# ---------------------------------------------------------------- build
mkdir -p "$BENCH"
build_log=$BENCH/build.log
: >"$build_log"
run_build() {
	if ! "$@" >>"$build_log" 2>&1; then
		grep -E 'error|Error|warning' "$build_log" | tail -n 40 >&2 || tail -n 40 "$build_log" >&2
		die "build failed: $*"
	fi
}

step "build: module (-Werror) against $KDIR"
run_build make -C "$ROOT" module KDIR="$KDIR" VAPICVM_WERROR=1
step_done
step "build: selftests, userspace"
run_build make -C "$ROOT/selftests" BUILD="$BUILD/selftests" -j"$(nproc)"
if [[ -f $ROOT/userspace/Makefile ]]; then
	run_build make -C "$ROOT/userspace" BUILD="$BUILD/userspace" GUEST_KERNEL="$KIMG/vmlinuz" \
		-j"$(nproc)" all
	[[ -f $BUILD/guest-payload/vmlinuz ]] || die "build: no Linux guest payload in $BUILD/guest-payload"
fi
step_done

# ---------------------------------------------------------------- host tests
# Results: "<suite> <passed> <failed> <skipped>" lines.
RESULTS=$BENCH/results.txt
: >"$RESULTS"

# Count a TAP stream: plain "ok", "ok ... # SKIP", "not ok".
tap_count() { # file -> "passed failed skipped"
	awk '
		/^[[:space:]]*not ok [0-9]+/ { f++; next }
		/^[[:space:]]*ok [0-9]+.*# *[Ss][Kk][Ii][Pp]/ { s++; next }
		/^[[:space:]]*ok [0-9]+/ { p++; next }
		END { printf "%d %d %d\n", p, f, s }' "$1"
}

if [[ $MODE == check && -z ${SKIP_HOST_TESTS:-} ]]; then
	step "host-side tests"
	host_out=$BENCH/host-tests.tap
	: >"$host_out"
	host_tests=("$BUILD/selftests/abi_check")
	if [[ -f $ROOT/userspace/Makefile ]]; then
		while read -r t; do host_tests+=("$t"); done < <(make -s -C "$ROOT/userspace" \
			BUILD="$BUILD/userspace" list-unit-tests)
	fi
	for t in "${host_tests[@]}"; do
		name=$(basename "$t")
		echo "# host: $name"
		out=$BENCH/host-$name.tap
		rc=0
		"$t" >"$out" 2>&1 || rc=$?
		cat "$out"
		read -r p f s < <(tap_count "$out")
		if ((rc != 0 && f == 0)); then f=1; fi
		echo "host/$name $p $f $s" >>"$RESULTS"
	done
	step_done
fi

# ---------------------------------------------------------------- boot image
step "boot image"
fb=$BENCH/fastboot
mkdir -p "$fb"
as --32 -o "$fb/trampoline.o" "$ROOT/testbench/fastboot/trampoline.S"
ld -m elf_i386 -Ttext=0 --oformat binary -o "$fb/trampoline.bin" "$fb/trampoline.o"
g++ -std=c++20 -O2 -Wall -Wextra -Werror -o "$fb/mkfastboot" "$ROOT/testbench/fastboot/mkfastboot.cpp"
if [[ ! -f $fb/vmlinuz || $fb/vmlinuz -ot $KIMG/vmlinuz || $fb/vmlinuz -ot $fb/mkfastboot ||
      $fb/vmlinuz -ot $fb/trampoline.bin ]]; then
	"$fb/mkfastboot" "$KIMG/vmlinuz" "$fb/trampoline.bin" "$fb/vmlinuz" >&2
fi

make_initramfs() { # out-file mode [extra-test ...]
	local out=$1 mode=$2
	shift 2
	local root=$BENCH/initramfs-$mode
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,lib/vapicvm-bench/tests,lib/vapicvm-bench/kvm}
	cp /bin/busybox "$root/bin/busybox"
	cp "$ROOT/testbench/guest/init" "$root/init"
	chmod +x "$root/init"
	cp "$ROOT/vapicvm.ko" "$root/lib/vapicvm-bench/"
	cp "$KIMG"/modules/*.ko "$root/lib/vapicvm-bench/kvm/" 2>/dev/null || true
	local tests
	tests=$(cd "$BUILD/selftests" && ls -- *_test 2>/dev/null | sort)
	if [[ -n ${TESTS:-} ]]; then tests=$TESTS; fi
	: >"$root/lib/vapicvm-bench/tests.list"
	for t in $tests; do
		cp "$BUILD/selftests/$t" "$root/lib/vapicvm-bench/tests/"
		echo "$t" >>"$root/lib/vapicvm-bench/tests.list"
	done
	for t in "$@"; do
		cp "$t" "$root/lib/vapicvm-bench/tests/"
		basename "$t" >>"$root/lib/vapicvm-bench/tests.list"
	done
	if [[ -n ${PLANT:-} ]]; then
		# The bench's self-check (testbench/selftest.sh): a failing test
		# and a module that WARNs, both of which must fail the run.
		local plant=$BENCH/plant
		rm -rf "$plant" && mkdir -p "$plant" && cp "$ROOT"/testbench/plant/* "$plant/"
		make -C "$KDIR" M="$plant" modules >>"$build_log" 2>&1 || die "planted module build"
		cp "$plant/planted_warn.ko" "$root/lib/vapicvm-bench/"
		gcc -O2 -Wall -static -I"$BUILD/selftests/include" -o "$root/lib/vapicvm-bench/tests/planted_fail_test" \
			"$plant/planted_fail_test.c" || die "planted test build"
		echo planted_fail_test >>"$root/lib/vapicvm-bench/tests.list"
	fi
	if [[ -x $ROOT/testbench/guest/main-job.sh ]]; then
		cp "$ROOT/testbench/guest/main-job.sh" "$root/lib/vapicvm-bench/"
		# The main job's guests (vapicvm-run booting Linux on 2 vCPUs
		# among them) are part of the full suite too.
		if [[ -z ${TESTS:-} && -d $BUILD/userspace/bin ]]; then
			printf '#!/bin/sh\nexec sh /lib/vapicvm-bench/main-job.sh check\n' \
				>"$root/lib/vapicvm-bench/tests/vmm_guests"
			chmod +x "$root/lib/vapicvm-bench/tests/vmm_guests"
			echo vmm_guests >>"$root/lib/vapicvm-bench/tests.list"
		fi
	fi
	if [[ -d $BUILD/userspace/bin ]]; then
		cp -r "$BUILD/userspace/bin" "$root/lib/vapicvm-bench/"
	fi
	if [[ -d $BUILD/guest-payload ]]; then
		cp -r "$BUILD/guest-payload" "$root/lib/vapicvm-bench/payload"
	fi
	# Uncompressed: the kernel unpacks it without decompressing.
	(cd "$root" && find . | cpio -o -H newc --quiet) >"$out"
}

make_iso() { # iso mode initrd
	local iso=$1 mode=$2 initrd=$3
	local dir=$BENCH/iso-$mode
	rm -rf "$dir"
	mkdir -p "$dir/isolinux"
	cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$dir/isolinux/"
	cp "$fb/vmlinuz" "$dir/vmlinuz"
	cp "$initrd" "$dir/initrd.img"
	cat >"$dir/isolinux/isolinux.cfg" <<-EOF
	DEFAULT linux
	PROMPT 0
	TIMEOUT 0
	LABEL linux
	  KERNEL /vmlinuz
	  APPEND initrd=/initrd.img console=ttyS0,115200 loglevel=4 nokaslr mitigations=off tsc=reliable panic=-1 vapicvm.mode=$mode ${EXTRA_CMDLINE:-}
	EOF
	xorriso -as mkisofs -quiet -o "$iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
		-no-emul-boot -boot-load-size 4 -boot-info-table "$dir" 2>/dev/null
}

step_done

# ---------------------------------------------------------------- boot
boot() { # name model cpus iso -> writes $BENCH/<name>/
	local name=$1 model=$2 cpus=$3 iso=$4
	local dir=$BENCH/$name
	rm -rf "$dir"
	mkdir -p "$dir"
	cat >"$dir/bochsrc" <<-EOF
	plugin_ctrl: speaker=0, parallel=0
	config_interface: textconfig
	display_library: nogui
	romimage: file=/usr/share/bochs/BIOS-bochs-latest
	vgaromimage: file=/usr/share/vgabios/vgabios.bin
	cpu: model=$model, count=$cpus, ips=200000000, reset_on_triple_fault=0
	memory: guest=1024, host=1024
	pci: enabled=1, chipset=i440fx
	clock: sync=none, time0=946684800
	ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
	ata0-master: type=cdrom, path="$iso", status=inserted
	boot: cdrom
	com1: enabled=1, mode=file, dev=$dir/serial.out
	log: $dir/bochs.log
	panic: action=fatal
	error: action=ignore
	info: action=ignore
	debug: action=ignore
	EOF
	local start end rc=0 pid
	start=$(date +%s.%N)
	timeout --kill-after=10 "$BOOT_TIMEOUT" "$BOCHS" -q -f "$dir/bochsrc" </dev/null \
		>"$dir/bochs.stdout" 2>&1 &
	pid=$!
	# The boot proper ends when /init speaks: note when, for the report.
	while kill -0 "$pid" 2>/dev/null; do
		if grep -q 'VAPICVM-BENCH: boot' "$dir/serial.out" 2>/dev/null; then
			awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", e - s }' \
				>"$dir/boot_wall_seconds"
			break
		fi
		sleep 0.2
	done
	wait "$pid" || rc=$?
	end=$(date +%s.%N)
	awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f\n", e - s }' >"$dir/wall_seconds"
	echo "$rc" >"$dir/bochs_rc"
}

# Judge one boot: prints the TAP of each test binary, appends results.
judge() { # name
	local name=$1 dir=$BENCH/$1
	local serial=$dir/serial.log
	local wall
	# The console's tty turns \n into \r\n.
	tr -d '\r' <"$dir/serial.out" >"$serial" 2>/dev/null || : >"$serial"
	wall=$(cat "$dir/wall_seconds")
	echo
	echo "######## $name: $(sed -n 's/^VAPICVM-BENCH: boot //p' "$serial" 2>/dev/null | head -n1) (wall ${wall} s)"
	if [[ ! -s $serial ]]; then
		echo "not ok - $name: no serial output (bochs rc $(cat "$dir/bochs_rc"))"
		tail -n 20 "$dir/bochs.stdout"
		echo "$name/boot 0 1 0" >>"$RESULTS"
		return
	fi
	local infra_fail=0
	if ! grep -q '^VAPICVM-BENCH: insmod ok' "$serial"; then
		echo "not ok - $name: vapicvm.ko did not load"
		infra_fail=$((infra_fail + 1))
	fi
	# Split the serial log into one TAP file per test binary.
	awk -v dir="$dir" '
		/^VAPICVM-BENCH: begin / { cur = $3; out = dir "/" cur ".tap"; printf "" > out; next }
		/^VAPICVM-BENCH: end / { if (cur != "") { print > out; close(out) }; cur = ""; next }
		cur != "" { print > out }' "$serial"
	local t p f s
	local list
	if [[ $MODE == run ]]; then list=main-job; else list=$(cat "$BENCH/initramfs-check/lib/vapicvm-bench/tests.list"); fi
	for t in $list; do
		echo "# $name: $t"
		if [[ ! -f $dir/$t.tap ]]; then
			echo "not ok - $t did not run"
			echo "$name/$t 0 1 0" >>"$RESULTS"
			continue
		fi
		cat "$dir/$t.tap"
		read -r p f s < <(tap_count "$dir/$t.tap")
		local endline
		endline=$(grep "^VAPICVM-BENCH: end $t " "$serial" || true)
		if [[ -z $endline ]]; then
			echo "not ok - $t did not finish (hang or crash); serial tail:"
			tail -n 30 "$serial" | sed 's/^/#   /'
			f=$((f + 1))
		elif [[ $endline != *" rc=0 "* && $endline != *" rc=0" ]]; then
			if ((f == 0)); then
				echo "not ok - $t exited with ${endline#*rc=}"
				f=1
			fi
		fi
		if ((p + f + s == 0)); then
			echo "not ok - $t reported no results"
			f=1
		fi
		echo "$name/$t $p $f $s" >>"$RESULTS"
	done
	if ! grep -q '^VAPICVM-BENCH: done' "$serial"; then
		echo "not ok - $name: the guest did not finish (timeout ${BOOT_TIMEOUT}s or hang); serial tail:"
		tail -n 40 "$serial" | sed 's/^/#   /'
		infra_fail=$((infra_fail + 1))
	fi
	if ! grep -q '^VAPICVM-BENCH: rmmod ok' "$serial"; then
		echo "not ok - $name: vapicvm did not unload (leaked reference?)"
		infra_fail=$((infra_fail + 1))
	fi
	# Any kernel warning, bug, oops or lockup fails the run.
	if grep -qE '^VAPICVM-DMESG: ' "$serial" ||
	   grep -qE '(WARNING: CPU|BUG: |Oops|general protection fault|soft lockup|hard LOCKUP|Kernel panic|kernel BUG at)' "$serial"; then
		echo "not ok - $name: kernel reported a problem:"
		grep -E '^VAPICVM-DMESG: |WARNING: CPU|BUG: |Oops|general protection|soft lockup|Kernel panic' "$serial" |
			head -n 60 | sed 's/^/#   /'
		infra_fail=$((infra_fail + 1))
	fi
	echo "$name/machine $((infra_fail == 0 ? 1 : 0)) $infra_fail 0" >>"$RESULTS"
	local boot_t
	boot_t=$(sed -n 's/^VAPICVM-BENCH: boot .*uptime=\([0-9.]*\).*/\1/p' "$serial" | head -n1)
	echo "# $name: boot to /init $(cat "$dir/boot_wall_seconds" 2>/dev/null || echo ?) s wall" \
	     "(${boot_t:-?} guest s); whole run ${wall} s wall," \
	     "$(sed -n 's/^VAPICVM-BENCH: done uptime=//p' "$serial") guest s"
}

configs=${CONFIGS:-$ALL_CONFIGS}
if [[ $MODE == run ]]; then configs=${CONFIGS:-$RUN_CONFIG}; fi

step "initramfs and ISO ($MODE)"
make_initramfs "$BENCH/initrd-$MODE.img" "$MODE"
make_iso "$BENCH/boot-$MODE.iso" "$MODE" "$BENCH/initrd-$MODE.img"
step_done

step "booting: $configs ($JOBS at a time)"
pids=()
for c in $configs; do
	IFS=: read -r name model cpus <<<"$c"
	case $c in *:*:*) ;; *) c=$(tr ' ' '\n' <<<"$ALL_CONFIGS" | grep "^$c:" || die "unknown config $c");
		IFS=: read -r name model cpus <<<"$c" ;; esac
	boot "$name" "$model" "$cpus" "$BENCH/boot-$MODE.iso" &
	pids+=($!)
	while (($(jobs -rp | wc -l) >= JOBS)); do wait -n || true; done
done
wait || true
step_done

for c in $configs; do
	case $c in *:*:*) ;; *) c=$(tr ' ' '\n' <<<"$ALL_CONFIGS" | grep "^$c:") ;; esac
	judge "${c%%:*}"
done

# ---------------------------------------------------------------- bench self-check
if [[ $MODE == check && -z ${PLANT:-} && -z ${SKIP_BENCH_SELFTEST:-} ]]; then
	step "bench self-check (planted failures must fail a run)"
	out=$BENCH/bench-selftest.tap
	"$ROOT/testbench/selftest.sh" >"$out" 2>&1 || true
	echo "# host: bench-selftest"
	cat "$out"
	read -r p f s < <(tap_count "$out")
	echo "host/bench-selftest $p $f $s" >>"$RESULTS"
	step_done
fi

# ---------------------------------------------------------------- summary
echo
# Repeat each failure's assertions next to the summary, where a log's tail
# (all a CI page may show) still holds them.
while read -r name _ f _; do
	[[ $f != 0 && -f $BENCH/$name.tap ]] || continue
	echo "# --- $name: failed checks"
	grep -E '^not ok|^# .*\.c:[0-9]+:|^#.*(Expected|FAIL)' "$BENCH/$name.tap" | head -n 40
done <"$RESULTS"
awk '{ p += $2; f += $3; s += $4; if ($3) failed = failed " " $1 }
     END { if (failed != "") print "# failed:" failed;
	   printf "%d passed, %d failed, %d skipped\n", p, f, s; exit(f > 0) }' "$RESULTS"
