# SPDX-License-Identifier: GPL-2.0
"""The emulated machine's boot medium: fast-boot kernel, initramfs, ISO.

The initramfs holds busybox, /init, vapicvm.ko, KVM's modules, the test
binaries with their list, the userspace tools and the Linux guest payload,
and markers.sh: the markers and kernel-problem patterns /init reports with,
generated from markers.py so that they are spelled once.
"""

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import markers

# The kernel command line of every bench boot, before vapicvm.mode= and
# EXTRA_CMDLINE. idle=halt: an idle CPU halts at once, which the emulator
# skips over cheaply, where Linux's cpuidle would first spin in its poll
# state and then MWAIT (Documentation/testbench.rst, "Where the time
# goes"); the debug kernel has no cpuidle and halts anyway.
CMDLINE = ("console=ttyS0,115200 loglevel=4 nokaslr mitigations=off tsc=reliable panic=-1 "
           "idle=halt")

ISOLINUX_FILES = ("/usr/lib/ISOLINUX/isolinux.bin", "/usr/lib/syslinux/modules/bios/ldlinux.c32")


@dataclass
class Contents:
    """What goes into an initramfs besides busybox, /init and markers.sh.
    tests are (name, executable) pairs in the order /init runs them."""

    module: Path
    kvm_modules: list = field(default_factory=list)
    tests: list = field(default_factory=list)
    extra_modules: list = field(default_factory=list)
    main_job: Path = None
    userspace_bin: Path = None
    payload: Path = None
    gdb: Path = None
    install_root: Path = None
    # Variables /init exports to every test ({name: value}).
    environment: dict = field(default_factory=dict)


def newer(path, *sources):
    """True if path exists and is newer than every source."""
    if not path.exists():
        return False
    mtime = path.stat().st_mtime
    return all(mtime >= Path(source).stat().st_mtime for source in sources)


def build_fastboot(root, out_dir, vmlinuz, log):
    """The fast-boot image of vmlinuz (testbench/fastboot/): rebuilt when
    the kernel or the tool changed.  Returns its path."""
    src = root / "testbench" / "fastboot"
    out_dir.mkdir(parents=True, exist_ok=True)
    obj, binary, tool = out_dir / "trampoline.o", out_dir / "trampoline.bin", out_dir / "mkfastboot"

    def run(argv):
        subprocess.run(argv, check=True, stdout=log, stderr=log)

    run(["as", "--32", "-o", obj, src / "trampoline.S"])
    run(["ld", "-m", "elf_i386", "-Ttext=0", "--oformat", "binary", "-o", binary, obj])
    run(["g++", "-std=c++20", "-O2", "-Wall", "-Wextra", "-Werror", "-o", tool,
         src / "mkfastboot.cpp"])
    image = out_dir / "vmlinuz"
    if not newer(image, vmlinuz, tool, binary):
        run([tool, vmlinuz, binary, image])
    return image


def copy_executable(src, dest):
    """Copy a file keeping its mode (executables stay executable)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)


def ldd_paths(output):
    """The libraries in ldd's output (the dynamic loader included, the
    vDSO left out, which is the kernel's); a library ldd did not find is
    an error."""
    libraries = []
    for line in output.splitlines():
        words = line.split()
        if "=>" in words[:-1]:
            path = words[words.index("=>") + 1]
            if path == "not":
                raise RuntimeError(f"ldd: {line.strip()}")
        elif words and words[0].startswith("/"):
            path = words[0]
        else:
            continue
        libraries.append(Path(path))
    return libraries


def shared_libraries(executable):
    """The shared libraries executable loads, as ldd resolves them on the host."""
    return ldd_paths(subprocess.run(["ldd", str(executable)], stdout=subprocess.PIPE,
                                    text=True, check=True).stdout)


def copy_with_libraries(executable, tree, dest):
    """A dynamically linked executable at dest (a path in the guest) and its
    libraries at their host paths in tree."""
    copy_executable(executable, tree / dest.lstrip("/"))
    for library in shared_libraries(executable):
        copy_executable(library.resolve(), tree / str(library).lstrip("/"))


def populate(tree, init, contents):
    """Lay out the initramfs tree under tree (emptied first)."""
    shutil.rmtree(tree, ignore_errors=True)
    bench = tree / markers.GUEST_DIR.lstrip("/")
    for sub in ("bin", "sbin", "dev", "proc", "sys", "tmp"):
        (tree / sub).mkdir(parents=True)
    for sub in ("tests", "kvm"):
        (bench / sub).mkdir(parents=True)
    copy_executable(Path("/bin/busybox"), tree / "bin" / "busybox")
    copy_executable(init, tree / "init")
    (tree / "init").chmod(0o755)
    (tree / markers.GUEST_MARKERS.lstrip("/")).write_text(markers.shell_fragment())
    copy_executable(contents.module, bench / contents.module.name)
    for module in contents.kvm_modules:
        copy_executable(module, bench / "kvm" / module.name)
    for module in contents.extra_modules:
        copy_executable(module, bench / module.name)
    for name, executable in contents.tests:
        copy_executable(executable, bench / "tests" / name)
    (bench / "tests.list").write_text("".join(name + "\n" for name, _ in contents.tests))
    (bench / "tests.env").write_text("".join(f"{name}={value}\n" for name, value
                                             in sorted(contents.environment.items())))
    if contents.main_job:
        copy_executable(contents.main_job, bench / "main-job.sh")
    if contents.userspace_bin:
        shutil.copytree(contents.userspace_bin, bench / "bin")
    if contents.payload:
        shutil.copytree(contents.payload, bench / "payload")
    if contents.install_root:
        shutil.copytree(contents.install_root, bench / "install-root", symlinks=True)
    if contents.gdb:
        copy_with_libraries(contents.gdb, tree, markers.GUEST_DIR + "/bin/gdb")


def write_cpio(tree, out):
    """Pack tree as an uncompressed newc cpio: the kernel unpacks it
    without decompressing, which is faster in the emulator."""
    paths = ["."]
    for directory, dirs, files in os.walk(tree):
        rel = Path(directory).relative_to(tree)
        paths += [str(rel / name) for name in sorted(dirs) + sorted(files)]
    with open(out, "wb") as image:
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=tree, check=True,
                       input="\n".join(paths).encode() + b"\n", stdout=image)


def make_initramfs(tree, out, init, contents):
    """Build the initramfs image out from contents, via the tree dir."""
    populate(tree, init, contents)
    write_cpio(tree, out)


def isolinux_cfg(mode, extra_cmdline):
    """The boot loader's configuration: one entry, no prompt."""
    append = f"initrd=/initrd.img {CMDLINE} vapicvm.mode={mode} {extra_cmdline}".rstrip()
    return ("DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n"
            f"  KERNEL /vmlinuz\n  APPEND {append}\n")


def make_iso(iso, tree, vmlinuz, initrd, mode, extra_cmdline=""):
    """A bootable ISO (isolinux) with the kernel and initramfs."""
    shutil.rmtree(tree, ignore_errors=True)
    (tree / "isolinux").mkdir(parents=True)
    for name in ISOLINUX_FILES:
        shutil.copy(name, tree / "isolinux")
    shutil.copy(vmlinuz, tree / "vmlinuz")
    shutil.copy(initrd, tree / "initrd.img")
    (tree / "isolinux" / "isolinux.cfg").write_text(isolinux_cfg(mode, extra_cmdline))
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-o", iso,
                    "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
                    "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", tree],
                   check=True, stderr=subprocess.DEVNULL)
