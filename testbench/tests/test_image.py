# SPDX-License-Identifier: GPL-2.0
"""The initramfs: what /init finds where, markers.sh included."""

import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from vapicvm_bench import image, markers

INIT = Path(__file__).resolve().parents[1] / "guest" / "init"


@unittest.skipUnless(Path("/bin/busybox").exists() and shutil.which("cpio"),
                     "busybox or cpio is not installed")
class Initramfs(unittest.TestCase):
    """make_initramfs from stand-in files."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        for name in ("vapicvm.ko", "kvm.ko", "exit_test", "pio_test"):
            (self.dir / name).write_text(name)
        (self.dir / "pio_test").chmod(0o755)
        contents = image.Contents(module=self.dir / "vapicvm.ko",
                                  kvm_modules=[self.dir / "kvm.ko"],
                                  tests=[("pio_test", self.dir / "pio_test"),
                                         ("exit_test", self.dir / "exit_test")],
                                  environment={"FUZZ_STEPS": "2", "CALLS": "10"})
        self.tree, self.out = self.dir / "tree", self.dir / "initrd.img"
        image.make_initramfs(self.tree, self.out, INIT, contents)
        self.bench = self.tree / markers.GUEST_DIR.lstrip("/")

    def tearDown(self):
        self.tmp.cleanup()

    def test_layout(self):
        self.assertEqual((self.bench / "tests.list").read_text(), "pio_test\nexit_test\n")
        self.assertEqual((self.bench / "tests.env").read_text(), "CALLS=10\nFUZZ_STEPS=2\n")
        self.assertEqual((self.bench / "markers.sh").read_text(), markers.shell_fragment())
        self.assertTrue((self.bench / "kvm" / "kvm.ko").exists())
        self.assertTrue((self.tree / "init").stat().st_mode & 0o111)
        self.assertTrue((self.bench / "tests" / "pio_test").stat().st_mode & 0o100)

    def test_cpio_holds_the_tree(self):
        with open(self.out, "rb") as archive:
            listing = subprocess.run(["cpio", "-t", "--quiet"], stdin=archive,
                                     stdout=subprocess.PIPE, text=True, check=True).stdout.split()
        for path in ("init", "bin/busybox", "lib/vapicvm-bench/markers.sh",
                     "lib/vapicvm-bench/vapicvm.ko", "lib/vapicvm-bench/tests/exit_test"):
            with self.subTest(path=path):
                self.assertIn(path, listing)


class Libraries(unittest.TestCase):
    """A dynamically linked executable (gdb) goes in with its libraries."""

    LDD = ("\tlinux-vdso.so.1 (0x00007ffd)\n"
           "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f24)\n"
           "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f24)\n"
           "\t/lib64/ld-linux-x86-64.so.2 (0x00007f24)\n")

    def test_ldd_output(self):
        self.assertEqual(image.ldd_paths(self.LDD),
                         [Path("/lib/x86_64-linux-gnu/libz.so.1"),
                          Path("/lib/x86_64-linux-gnu/libc.so.6"),
                          Path("/lib64/ld-linux-x86-64.so.2")])

    def test_missing_library(self):
        with self.assertRaises(RuntimeError):
            image.ldd_paths("\tlibipt.so.2 => not found\n")

    @unittest.skipUnless(shutil.which("ldd"), "ldd is not installed")
    def test_copy(self):
        executable = Path(shutil.which("ls") or "/bin/ls").resolve()
        with tempfile.TemporaryDirectory() as tmp:
            tree = Path(tmp)
            image.copy_with_libraries(executable, tree, "/lib/vapicvm-bench/bin/ls")
            self.assertTrue((tree / "lib/vapicvm-bench/bin/ls").stat().st_mode & 0o100)
            for library in image.shared_libraries(executable):
                with self.subTest(library=library):
                    self.assertTrue((tree / str(library).lstrip("/")).is_file())


if __name__ == "__main__":
    unittest.main()
