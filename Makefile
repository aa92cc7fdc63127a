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
#   make check-debug      every test on the debug-kernel machine (check runs a subset there)
#   make check-matrix     every test on every CPU model with Debian 12's 6.1 and
#                         Debian 13's 6.12 kernel (eight machines)
#   make bench-unit-tests the bench's own unit tests (Python, no emulator)
#   make run              set up and run the main job: boot a guest through vapicvm
#   make bench            the same guest operations on vapicvm and on KVM, side by
#                         side, in one boot per CPU model: a table and costs.json
#   make bench-compare OLD=a.json NEW=b.json   vapicvm's costs, before and after
#   make style            checkpatch --strict, clang-format, the bench's Python
#   make sparse           the module through sparse (C=2)
#   make install          the module (for $(KDIR)'s kernel), the udev rule, the
#                         library, its headers, pkg-config and CMake files, the
#                         tools and the man pages; DESTDIR and PREFIX honoured
#   make uninstall        removes what make install installed
#   make dkms-install     the module's sources to /usr/src/vapicvm-<version>, dkms add
#   make dkms-remove      dkms remove --all, and those sources removed

include $(CURDIR)/VERSION

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

# Every test on the debug kernel's machine alone (KASAN, lockdep, UBSAN,
# KFENCE, ...): make check boots it too, beside the others, with the
# lifetime, concurrency and hostile-input tests only (DEBUG_TESTS). The
# whole suite there takes about an hour: twice the usual boot limit.
check-debug:
	CONFIGS=skylake-2-debug DEBUG_TESTS=all BOOT_TIMEOUT=$${BOOT_TIMEOUT:-6000} \
		testbench/bench.sh check

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

# ------------------------------------------------------------------ install
#
# PREFIX (default /usr/local) is where the library, headers, tools and man
# pages go; the module goes where the kernel looks for it
# (/lib/modules/<release>/updates), the udev rule where udev reads an
# administrator's rules (/etc/udev/rules.d; a package puts it in
# /usr/lib/udev/rules.d).  Without DESTDIR, make install also creates the
# group vapicvm and runs depmod; with DESTDIR it only writes the tree (run
# depmod where the tree is installed).
PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
UDEVRULESDIR ?= $(SYSCONFDIR)/udev/rules.d
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/vapicvm
INSTALL_MOD_DIR ?= updates
# The release the module was built for, from its vermagic (a distribution's
# headers may give another name in include/config/kernel.release).
MODULE_RELEASE = $(shell modinfo -F vermagic $(CURDIR)/vapicvm.ko 2>/dev/null | cut -d' ' -f1)
USERSPACE_INSTALL_VARS := PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) MANDIR=$(MANDIR) \
	$(if $(LIBDIR),LIBDIR=$(LIBDIR)) $(if $(BINDIR),BINDIR=$(BINDIR)) \
	$(if $(INCLUDEDIR),INCLUDEDIR=$(INCLUDEDIR))

install: install-module install-udev install-userspace

# A distribution's headers have no signing key: the module is installed
# unsigned (Documentation/install.rst says how to sign it).
install-module: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) \
		$(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR)) DEPMOD=true CONFIG_MODULE_SIG_ALL= \
		modules_install
ifeq ($(DESTDIR),)
	depmod $(MODULE_RELEASE)
endif

install-udev:
	install -d $(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(DOCDIR)/examples
	install -m 644 packaging/udev/60-vapicvm.rules $(DESTDIR)$(UDEVRULESDIR)/
	install -m 644 packaging/modules-load.d/vapicvm.conf \
		$(DESTDIR)$(DOCDIR)/examples/modules-load.d-vapicvm.conf
ifeq ($(DESTDIR),)
	getent group vapicvm >/dev/null || groupadd --system vapicvm
	-udevadm control --reload 2>/dev/null
endif

install-userspace:
	$(MAKE) -C userspace BUILD=$(BUILD)/userspace $(USERSPACE_INSTALL_VARS) install
	install -d $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man4
	install -m 644 Documentation/man/libvapicvm.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 Documentation/man/vapicvm.4 $(DESTDIR)$(MANDIR)/man4/
	install -d $(DESTDIR)$(DOCDIR)
	install -m 644 README.md Documentation/*.rst $(DESTDIR)$(DOCDIR)/

# The group stays: files elsewhere may belong to it.
uninstall:
	rm -f $(DESTDIR)/lib/modules/$(MODULE_RELEASE)/$(INSTALL_MOD_DIR)/vapicvm.ko
	-test -n "$(DESTDIR)" || depmod $(MODULE_RELEASE)
	rm -f $(DESTDIR)$(UDEVRULESDIR)/60-vapicvm.rules
	rm -f $(DESTDIR)$(DOCDIR)/examples/modules-load.d-vapicvm.conf \
		$(addprefix $(DESTDIR)$(DOCDIR)/,README.md $(notdir $(wildcard Documentation/*.rst)))
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null
	rm -f $(DESTDIR)$(MANDIR)/man3/libvapicvm.3 $(DESTDIR)$(MANDIR)/man4/vapicvm.4
	$(MAKE) -C userspace BUILD=$(BUILD)/userspace $(USERSPACE_INSTALL_VARS) uninstall

# DKMS: dkms.conf comes from dkms.conf.in with VERSION's release; the
# sources DKMS builds from are what Kbuild reads.
DKMS_SOURCES := Kbuild Makefile VERSION module uapi
DKMS_SRCDIR ?= $(DESTDIR)/usr/src/vapicvm-$(VAPICVM_VERSION)

DKMS_CONF = sed -e 's|@VAPICVM_VERSION@|$(VAPICVM_VERSION)|g' dkms.conf.in

dkms.conf: dkms.conf.in VERSION
	$(DKMS_CONF) >$@

# The sources without the objects of a build in the tree.
dkms-sources:
	install -d $(DKMS_SRCDIR)
	cp -R $(DKMS_SOURCES) $(DKMS_SRCDIR)/
	$(DKMS_CONF) >$(DKMS_SRCDIR)/dkms.conf
	find $(DKMS_SRCDIR) -type f \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name '*.a' \) -delete

dkms-install: dkms-sources
	dkms add -m vapicvm -v $(VAPICVM_VERSION)

dkms-remove:
	-dkms remove -m vapicvm -v $(VAPICVM_VERSION) --all
	rm -rf $(DKMS_SRCDIR)

clean:
	rm -rf $(BUILD)/userspace $(BUILD)/selftests $(BUILD)/bench $(BUILD)/module-*
	rm -f dkms.conf
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || \
		rm -f *.ko *.mod *.mod.c *.o module/*.o module/.*.cmd .*.cmd Module.symvers modules.order

distclean: clean
	rm -rf $(BUILD)

.PHONY: all module module-clean sparse userspace selftests unit-tests check check-debug check-matrix \
	bench-unit-tests run bench bench-compare style \
	install install-module install-udev install-userspace uninstall clean distclean \
	dkms-sources dkms-install dkms-remove
