# SPDX-License-Identifier: GPL-2.0
#
# vapicvm top-level Makefile: wraps the kernel's build for the module
# (Kbuild holds the kbuild part) and drives the userspace parts, the
# selftests and the emulated test bench.
#
#   make                  build vapicvm.ko against $(KDIR)
#   make userspace        the C++ library and tools
#   make selftests        the selftest binaries
#   make check            set up and run every test (emulated Intel machine)
#   make check-debug      every test on the debug-kernel machine only
#   make check-matrix     every test on every CPU model with Debian 12's 6.1 and
#                         Debian 13's 6.12 kernel (eight machines)
#   make bench-unit-tests the bench's own unit tests (Python, no emulator)
#   make run              set up and run the main job: boot a guest through vapicvm
#   make bench            the same guest operations on vapicvm and on KVM, side by
#                         side, in one boot per CPU model: a table and costs.json
#   make bench-compare OLD=a.json NEW=b.json   vapicvm's costs, before and after
#   make style            checkpatch --strict, clang-format, the bench's Python
#   make sparse           the module through sparse (C=2)

KDIR ?= /lib/modules/$(shell uname -r)/build
BUILD ?= $(CURDIR)/build
V ?= 0

all: module

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

module-clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean

sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 CF="-D__CHECK_ENDIAN__" modules

userspace:
	$(MAKE) -C userspace BUILD=$(BUILD)/userspace

selftests:
	$(MAKE) -C selftests BUILD=$(BUILD)/selftests

unit-tests:
	$(MAKE) -C userspace BUILD=$(BUILD)/userspace unit-tests

check:
	testbench/bench.sh check

# The debug kernel's machine alone (KASAN, lockdep, UBSAN, KFENCE, ...):
# make check boots it too, beside the others.
check-debug:
	CONFIGS=skylake-2-debug testbench/bench.sh check

# Every CPU model with each Debian kernel, 6.1 and trixie's 6.12: make
# check runs 6.12 on skylake-2 only.
check-matrix:
	KERNELS="debian trixie" testbench/bench.sh check

bench-unit-tests:
	cd testbench && python3 -m unittest discover -s tests -t .

run:
	testbench/bench.sh run

# One boot of each CPU model (Skylake-X with APIC-register virtualization,
# virtual-interrupt delivery and posted interrupts; Cannon Lake without),
# two CPUs so that an IPI goes to a vCPU on another host CPU, runs
# kvm_comparison_test with many iterations; make check runs the same test
# with few.
BENCH_CONFIGS ?= skylake-2 cnl-2
BENCH_ITERATIONS ?= 2000
bench:
	BENCH_DIR=$(BUILD)/bench-costs CONFIGS="$(BENCH_CONFIGS)" TESTS=kvm_comparison_test \
		SKIP_HOST_TESTS=1 SKIP_BENCH_SELFTEST=1 \
		EXTRA_CMDLINE="vapicvm.bench_iterations=$(BENCH_ITERATIONS) $(EXTRA_CMDLINE)" \
		testbench/bench.sh check
	cd testbench && python3 -m vapicvm_bench.costs report $(BUILD)/bench-costs \
		$(BUILD)/bench-costs/costs.json

bench-compare:
	@test -n "$(OLD)" -a -n "$(NEW)" || { echo "usage: make bench-compare OLD=a.json NEW=b.json"; exit 2; }
	cd testbench && python3 -m vapicvm_bench.costs compare $(abspath $(OLD)) $(abspath $(NEW))

style:
	testbench/style.sh

install: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

clean:
	rm -rf $(BUILD)/userspace $(BUILD)/selftests $(BUILD)/bench $(BUILD)/module-*
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || \
		rm -f *.ko *.mod *.mod.c *.o module/*.o module/.*.cmd .*.cmd Module.symvers modules.order

distclean: clean
	rm -rf $(BUILD)

.PHONY: all module module-clean sparse userspace selftests unit-tests check check-debug check-matrix \
	bench-unit-tests run bench bench-compare style \
	install clean distclean
