# SPDX-License-Identifier: GPL-2.0
"""Kernel flavours: their names, and the copy of the module's sources a
flavour other than Debian's builds in."""

import os
import tempfile
import unittest
from pathlib import Path

from vapicvm_bench import kernels
from vapicvm_bench.config import cpus


class Flavours(unittest.TestCase):
    """The flavours and what a Kernel derives from its directories."""

    def test_known_and_unknown(self):
        self.assertEqual(kernels.flavour("debug").script, "build-debug-kernel.sh")
        self.assertEqual(kernels.flavour("debian").cmdline, "")
        with self.assertRaisesRegex(ValueError, "unknown kernel flavour x"):
            kernels.flavour("x")

    def test_kernel_paths(self):
        kernel = kernels.Kernel(kernels.FLAVOURS[kernels.DEBUG], Path("/k"), Path("/k/src"),
                                Path("/b/module-debug"))
        self.assertEqual(kernel.name, "debug")
        self.assertEqual(kernel.vmlinuz, Path("/k/vmlinuz"))
        self.assertEqual(kernel.module, Path("/b/module-debug/vapicvm.ko"))


    def test_chroot_flavour(self):
        directory = Path("/b/kernel/6.12.1+deb13-amd64")
        kernel = kernels.Kernel.of(kernels.flavour("trixie"), directory, Path("/b"))
        self.assertEqual(kernel.kdir, Path("/usr/src/linux-headers-6.12.1+deb13-amd64"))
        self.assertEqual(kernel.chroot, Path("/b/kernel/trixie-chroot"))
        self.assertEqual(kernel.module, Path("/b/module-trixie/vapicvm.ko"))
        self.assertEqual(kernels.build_argv(kernel), [
            "chroot", "/b/kernel/trixie-chroot", "make", f"-j{cpus()}", "-C",
            "/usr/src/linux-headers-6.12.1+deb13-amd64", "M=/build/module-trixie",
            "VAPICVM_WERROR=1", "modules"])

    def test_host_flavour(self):
        kernel = kernels.Kernel.of(kernels.flavour("debug"), Path("/k"), Path("/b"))
        self.assertEqual(kernel.kdir, Path("/k/src"))
        self.assertIsNone(kernel.chroot)
        self.assertEqual(kernels.build_argv(kernel), [
            "make", f"-j{cpus()}", "-C", "/k/src", "M=/b/module-debug", "VAPICVM_WERROR=1", "modules"])


class ModuleSources(unittest.TestCase):
    """copy_module_sources keeps times, so rebuilds stay incremental."""

    def test_copy_keeps_times_and_objects(self):
        with tempfile.TemporaryDirectory() as tmp:
            root, dest = Path(tmp) / "src", Path(tmp) / "out"
            for name in ("Kbuild", "VERSION", "module/run.c", "uapi/linux/vapicvm.h",
                         "selftests/x.c"):
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_text(name)
            os.utime(root / "module" / "run.c", (1000, 1000))
            kernels.copy_module_sources(root, dest)
            (dest / "module" / "run.o").write_text("object")
            kernels.copy_module_sources(root, dest)
            self.assertEqual((dest / "module" / "run.c").stat().st_mtime, 1000)
            self.assertEqual((dest / "uapi" / "linux" / "vapicvm.h").read_text(),
                             "uapi/linux/vapicvm.h")
            self.assertTrue((dest / "module" / "run.o").exists())
            self.assertFalse((dest / "selftests").exists())


if __name__ == "__main__":
    unittest.main()
