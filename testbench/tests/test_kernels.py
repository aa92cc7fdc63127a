# SPDX-License-Identifier: GPL-2.0
"""Kernel flavours: their names, and the copy of the module's sources a
flavour other than Debian's builds in."""

import os
import tempfile
import unittest
from pathlib import Path

from vapicvm_bench import kernels


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
