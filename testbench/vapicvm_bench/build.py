# SPDX-License-Identifier: GPL-2.0
"""Set-up and builds: the host's packages, the kernel release, the emulator
and the kernel image (through the shell scripts beside the bench), then the
module, the selftests and the userspace parts.

A part that fails to build stops the run, unless KEEP_GOING is set: then
its failure becomes a result row ("build/<part>") that fails the run at
the end, and whatever is up to date (make -q says so) still runs.
"""

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import kernels, tap
from .config import cpus
from .log import BenchError, log, step

# Lines of a failed build's output shown (the error lines if any).
ERROR_TAIL = 40
_ERROR = re.compile(r"error:|warning:|\*\*\*")


def script(settings, name, *args):
    """Run testbench/<name>; its stdout's last line is its answer."""
    proc = subprocess.run([str(settings.root / "testbench" / name), *args],
                          stdout=subprocess.PIPE, text=True, check=False)
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or not lines:
        raise BenchError(f"testbench/{name} failed (status {proc.returncode})")
    return lines[-1]


def kernel_release():
    """The release linux-headers-amd64 points at: the module is built
    against its headers and the bench boots the same release."""
    depends = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", "linux-headers-amd64"],
                             stdout=subprocess.PIPE, text=True, check=True).stdout
    match = re.search(r"linux-headers-([^ ,]+)", depends)
    if not match:
        raise BenchError("linux-headers-amd64 names no kernel release")
    return match.group(1)


@dataclass
class Host:
    """What the set-up found: kernel release and headers, emulator, image,
    and the kernel of each flavour the chosen machines boot ({name:
    kernels.Kernel}; Debian's is always there: the guest payload is it).
    Another flavour's kernel is set up in the background (pending: {name:
    Future of its directory}) while the Debian parts build; kernel_of()
    waits for it."""

    release: str
    kdir: Path
    bochs: Path
    kernel: Path
    kernels: dict = field(default_factory=dict)
    pending: dict = field(default_factory=dict)

    def kernel_of(self, settings, name):
        """Flavour name's Kernel, once its set-up in the background is
        done (its failure raised here)."""
        if name not in self.kernels:
            directory = Path(self.pending.pop(name).result())
            self.kernels[name] = kernels.Kernel.of(kernels.flavour(name), directory,
                                                   settings.build)
        return self.kernels[name]

    def flavours(self):
        """Every flavour set up or being set up, Debian's first (kernel_of()
        moves a flavour from pending to kernels)."""
        return list(self.kernels) + list(self.pending)


def set_up_flavour(settings, name):
    """One flavour's kernel (its script; a step of its own); its directory."""
    with step(f"kernel image ({name}; built once, then reused)"):
        directory = Path(script(settings, kernels.flavour(name).script))
    log(f"kernel image ({name}) ready: {directory}")
    return directory


def set_up(settings, flavours=(kernels.DEBIAN,)):
    """Packages, kernel headers, emulator, Debian's kernel (each a step),
    and each other flavour's kernel in the background: a fetch at once,
    beside the emulator's build; a kernel build once the emulator, which
    every boot waits for, is built."""
    with step("host packages"):
        subprocess.run([str(settings.root / "testbench" / "setup-host.sh")], check=True)
    release = kernel_release()
    kdir = Path(f"/usr/src/linux-headers-{release}")
    if not kdir.is_dir():
        raise BenchError(f"kernel headers {kdir} missing")
    log(f"kernel {release}")
    others = [name for name in dict.fromkeys(flavours) if name != kernels.DEBIAN]
    background = ThreadPoolExecutor(max_workers=max(1, len(others)),
                                    thread_name_prefix="flavour")
    pending = {}

    def start(name):
        log(f"kernel image ({name}) in the background")
        pending[name] = background.submit(set_up_flavour, settings, name)

    for name in others:
        if not kernels.flavour(name).builds_kernel:
            start(name)
    with step("emulator"):
        bochs = Path(script(settings, "build-emulator.sh"))
        if not os.access(bochs, os.X_OK):
            raise BenchError("no emulator")
        if settings.build not in bochs.parents:
            log(f"WARNING: using the fallback emulator {bochs} (Bochs 2.7): "
                "posted interrupts untested")
    for name in others:
        if kernels.flavour(name).builds_kernel:
            start(name)
    background.shutdown(wait=False)
    with step("kernel image"):
        kernel = Path(script(settings, "fetch-kernel.sh", release))
    host = Host(release, kdir, bochs, kernel, pending={n: pending[n] for n in others})
    host.kernels[kernels.DEBIAN] = kernels.Kernel(kernels.FLAVOURS[kernels.DEBIAN], kernel,
                                                  kdir, settings.root)
    return host


@dataclass
class Built:
    """The outcome of the builds: which parts failed, as result rows."""

    failures: list = field(default_factory=list)

    def ok(self, part):
        """True if part built (or was not attempted and so did not fail)."""
        return all(result.suite != f"build/{part}" for result in self.failures)


def error_lines(output):
    """What to show of a failed build: its error lines, or its tail."""
    lines = output.splitlines()
    errors = [line for line in lines if _ERROR.search(line)]
    return (errors or lines)[-ERROR_TAIL:]


def make(settings, built, part, argv, is_make=True):
    """Run one part's make (or another build command when not is_make),
    its output appended to build.log.  A failure stops the run, or with
    KEEP_GOING becomes a result row."""
    if settings.keep_going and is_make:
        argv = argv + ["-k"]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=False)
    with open(settings.bench / "build.log", "a") as build_log:
        build_log.write(proc.stdout)
    if proc.returncode == 0:
        return True
    lines = error_lines(proc.stdout)
    print("\n".join(lines), file=sys.stderr, flush=True)
    command = " ".join(argv)
    if not settings.keep_going:
        raise BenchError(f"build failed: {command}")
    log(f"build of {part} failed (KEEP_GOING: going on with what did build)")
    details = [f"not ok - build/{part}: {command}"] + lines[-10:]
    built.failures.append(tap.Result(f"build/{part}", 0, 1, 0, details))
    return False


def up_to_date(directory, variables, target):
    """True if make -q says target is up to date (built, and built from
    the current sources): after a failed make -k, what did build."""
    proc = subprocess.run(["make", "-q", "-C", str(directory), *variables, str(target)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return proc.returncode == 0


def build_all(settings, host):
    """Module (-Werror), selftests, userspace (with the guest payload);
    the Debian kernel's parts first, while the other flavours' kernels
    are set up in the background, then each of those flavours' module."""
    built = Built()
    (settings.bench / "build.log").write_text("")
    jobs = f"-j{cpus()}"
    with step(f"build: module (-Werror) against {host.kdir}"):
        make(settings, built, "module", ["make", "-C", str(settings.root), "module",
                                         f"KDIR={host.kdir}", "VAPICVM_WERROR=1", jobs])
    build_dkms_module(settings, built, host)
    with step("build: selftests, userspace"):
        make(settings, built, "selftests", ["make", "-C", str(settings.root / "selftests"),
                                            *selftest_vars(settings), jobs])
        if (settings.root / "userspace" / "Makefile").exists():
            build_userspace(settings, host, built, jobs)
    for name in host.flavours():
        if name != kernels.DEBIAN:
            build_flavour_module(settings, built, host.kernel_of(settings, name))
    return built


def module_part(kernel):
    """The build part (and result row) of the module for kernel."""
    return "module" if kernel.name == kernels.DEBIAN else f"module-{kernel.name}"


def build_flavour_module(settings, built, kernel):
    """vapicvm.ko for another flavour's kernel, in a copy of its sources;
    a chroot flavour's is built in a second copy inside the chroot (copied
    with its times, so incremental there too) and vapicvm.ko copied out."""
    where = f" in {kernel.chroot}" if kernel.chroot else ""
    with step(f"build: module (-Werror) against {kernel.kdir}{where}"):
        kernels.copy_module_sources(settings.root, kernel.module_dir)
        if kernel.chroot is None:
            make(settings, built, module_part(kernel), kernels.build_argv(kernel))
            return
        inside = kernel.chroot / kernel.chroot_module_dir.relative_to("/")
        kernels.copy_module_sources(kernel.module_dir, inside)
        kernel.module.unlink(missing_ok=True)
        if make(settings, built, module_part(kernel), kernels.build_argv(kernel)):
            shutil.copy2(inside / "vapicvm.ko", kernel.module)


def dkms_dir(settings):
    """Where the DKMS build keeps its trees, its signing key and the module."""
    return settings.build / "dkms"


def dkms_module(settings):
    """vapicvm.ko as DKMS built, signed and installed it."""
    return dkms_dir(settings) / "vapicvm.ko"


def build_dkms_module(settings, built, host):
    """vapicvm.ko through DKMS for Debian's kernel (testbench/dkms-build.sh):
    dkms add, build (signed with the bench's key), install and remove, every
    DKMS tree under $BUILD/dkms.  Its failure is the part "dkms"."""
    with step(f"build: module through DKMS (signed) for {host.release}"):
        dkms_module(settings).unlink(missing_ok=True)
        make(settings, built, "dkms", [str(settings.root / "testbench" / "dkms-build.sh"),
                                       str(dkms_dir(settings)), host.release, str(host.kdir)],
             is_make=False)


def selftest_vars(settings):
    """The variables the selftests' make runs with."""
    return [f"BUILD={settings.build / 'selftests'}"]


def userspace_vars(settings, host):
    """The variables the userspace's make runs with."""
    return [f"BUILD={settings.build / 'userspace'}", f"GUEST_KERNEL={host.kernel / 'vmlinuz'}"]


def build_userspace(settings, host, built, jobs):
    """The userspace parts, which must include the Linux guest payload."""
    argv = ["make", "-C", str(settings.root / "userspace"), *userspace_vars(settings, host),
            jobs, "all"]
    if make(settings, built, "userspace", argv):
        payload = settings.build / "guest-payload" / "vmlinuz"
        if not payload.exists():
            raise BenchError(f"build: no Linux guest payload in {payload.parent}")
