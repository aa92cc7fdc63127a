# SPDX-License-Identifier: GPL-2.0
"""Kernel flavours: which kernel a bench machine boots, and what the module
is built against for it.

debian  Debian's own kernel, the release linux-headers-amd64 points at
        (testbench/fetch-kernel.sh); vapicvm.ko is built in the source tree
        against that release's headers, as a user builds it.
debug   a kernel built once from Debian's linux-source-6.1 with KASAN,
        KFENCE, UBSAN, lockdep, DEBUG_ATOMIC_SLEEP and debug objects
        (testbench/build-debug-kernel.sh, configuration in
        testbench/debug-kernel/debug.config); vapicvm.ko is built against
        that kernel's build tree in a copy of the module's sources
        ($BUILD/module-debug), so the two builds never share objects.
trixie  Debian 13's kernel (6.12), the release linux-headers-amd64 points at
        in a minimal trixie chroot ($BUILD/kernel/trixie-chroot,
        testbench/fetch-kernel-trixie.sh); vapicvm.ko is built inside that
        chroot, against its headers with its gcc 14, in a copy of the
        module's sources ($BUILD/module-trixie, copied again into the
        chroot for the build: no mount is left behind when the bench is
        killed).

Each flavour's kernel directory holds vmlinuz and modules/ (KVM's), as
the scripts that make it print.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

from .config import cpus

# What the module's build reads (Kbuild's sources), copied for a flavour
# built outside the source tree.
MODULE_SOURCES = ("Kbuild", "VERSION", "module", "uapi")


@dataclass(frozen=True)
class Flavour:
    """A kind of kernel: the script that makes it (testbench/<script>,
    whose last output line is its directory) and the words it adds to the
    kernel command line."""

    name: str
    script: str
    cmdline: str = ""
    # The module builds inside <kernel directory>/../<chroot> against
    # /usr/src/linux-headers-<release> there (release: the directory's
    # name), not against a tree on the host.
    chroot: str = ""
    # The script builds a kernel (every CPU, minutes): the bench starts it
    # after the emulator's build, not beside it.
    builds_kernel: bool = False


DEBIAN = "debian"
DEBUG = "debug"
TRIXIE = "trixie"
FLAVOURS = {
    DEBIAN: Flavour(DEBIAN, "fetch-kernel.sh"),
    # loglevel=5: the debug options' reports (lockdep's, the stack traces
    # of WARN and KASAN) print at warning level; on the console they reach
    # serial.log whole, not only the lines /init re-prints.
    # mitigations=auto (after the machines' mitigations=off): vapicvm's
    # transient-execution mitigations run here; retbleed=off spares the
    # emulated Skylake a boot-time warning about retpolines and RETBleed,
    # pti=off the cost of page-table isolation, which VMX does not involve.
    DEBUG: Flavour(DEBUG, "build-debug-kernel.sh",
                   cmdline="loglevel=5 mitigations=auto retbleed=off pti=off",
                   builds_kernel=True),
    TRIXIE: Flavour(TRIXIE, "fetch-kernel-trixie.sh", chroot="trixie-chroot"),
}


def flavour(name):
    """The Flavour called name; ValueError for an unknown one."""
    if name not in FLAVOURS:
        raise ValueError(f"unknown kernel flavour {name} (known: {' '.join(FLAVOURS)})")
    return FLAVOURS[name]


@dataclass(frozen=True)
class Kernel:
    """One flavour's kernel as set up: its directory (vmlinuz, modules/),
    the tree the module builds against (KDIR) and where it builds (M=)."""

    flavour: Flavour
    directory: Path
    kdir: Path
    module_dir: Path

    @classmethod
    def of(cls, flavour, directory, build):
        """The Kernel of a flavour other than Debian's whose script printed
        directory: the debug kernel's build tree is directory/src, a chroot
        flavour's headers are the release's inside the chroot."""
        if flavour.chroot:
            kdir = Path(f"/usr/src/linux-headers-{directory.name}")
        else:
            kdir = directory / "src"
        return cls(flavour, directory, kdir, build / f"module-{flavour.name}")

    @property
    def chroot(self):
        """The chroot the module builds in, or None (on the host)."""
        return self.directory.parent / self.flavour.chroot if self.flavour.chroot else None

    @property
    def chroot_module_dir(self):
        """Where the module builds inside the chroot (M=), or None."""
        return Path("/build") / self.module_dir.name if self.flavour.chroot else None

    @property
    def name(self):
        """The flavour's name."""
        return self.flavour.name

    @property
    def vmlinuz(self):
        """The kernel image the machines boot."""
        return self.directory / "vmlinuz"

    @property
    def module(self):
        """vapicvm.ko as built for this kernel."""
        return self.module_dir / "vapicvm.ko"

    def kvm_modules(self):
        """KVM's modules for this kernel, in load order by name."""
        return sorted((self.directory / "modules").glob("*.ko"))


def build_argv(kernel):
    """The make command line that builds vapicvm.ko for kernel (with
    -Werror) in kernel.module_dir, or for a chroot flavour in its copy
    inside the chroot."""
    make = ["make", f"-j{cpus()}", "-C", str(kernel.kdir)]
    if kernel.chroot is None:
        return make + [f"M={kernel.module_dir}", "VAPICVM_WERROR=1", "modules"]
    return ["chroot", str(kernel.chroot), *make, f"M={kernel.chroot_module_dir}",
            "VAPICVM_WERROR=1", "modules"]


def copy_module_sources(root, dest):
    """Copy the module's sources to dest, keeping their times, so that an
    out-of-tree build there is incremental like the in-tree one."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in MODULE_SOURCES:
        src = root / name
        if src.is_dir():
            shutil.copytree(src, dest / name, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dest / name)
