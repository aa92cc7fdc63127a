# SPDX-License-Identifier: GPL-2.0
"""boot.boot() with a stand-in for the emulator: a shell script that reads
its bochsrc like Bochs does, so the host's side of a boot (the wait for
/init's first marker, the timeout, the files it leaves) is tested without
emulating anything."""

import tempfile
import unittest
from pathlib import Path

from vapicvm_bench import boot, markers

# Writes what a booting guest would to the serial file named in the
# bochsrc (argument 3), then behaves as $1 says.
FAKE_BOCHS = """#!/bin/sh
serial=$(sed -n 's/^com1:.*dev=//p' "$3")
echo "Booting from CD-ROM"
printf '%s boot mode=check uptime=0.5 cpus=1\\r\\n' "{marker}" >"$serial"
case "$(basename "$0")" in
hang) exec sleep 30 ;;
esac
printf '%s done uptime=1.0\\r\\n' "{marker}" >>"$serial"
exit 0
"""


class EmulatorRun(unittest.TestCase):
    """One boot, with a fake emulator that powers off or hangs."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        for name in ("bochs", "hang"):
            fake = self.dir / name
            fake.write_text(FAKE_BOCHS.replace("{marker}", markers.BENCH))
            fake.chmod(0o755)

    def tearDown(self):
        self.tmp.cleanup()

    def run_boot(self, fake, timeout):
        """Boot skylake-1 with the named fake; its Boot and its directory."""
        out = self.dir / "skylake-1"
        measured = boot.boot(boot.MACHINES[0], self.dir / "boot.iso", self.dir / fake, out,
                             timeout)
        return measured, out

    def test_guest_that_powers_off(self):
        measured, out = self.run_boot("bochs", timeout=30)
        self.assertEqual(measured.bochs_rc, 0)
        self.assertNotEqual(measured.boot_wall_seconds, "?")
        self.assertIn(f"{markers.BENCH} done", (out / "serial.out").read_text())
        self.assertEqual((out / "bochs.stdout").read_text(), "Booting from CD-ROM\n")
        self.assertEqual((out / "bochs_rc").read_text(), "0\n")
        self.assertTrue((out / "wall_seconds").exists())
        self.assertIn("model=corei7_skylake_x, count=1", (out / "bochsrc").read_text())

    def test_guest_that_hangs_is_killed_at_the_timeout(self):
        measured, out = self.run_boot("hang", timeout=1)
        self.assertEqual(measured.bochs_rc, boot.TIMEOUT_RC)
        self.assertLess(float(measured.wall_seconds), 1 + boot.KILL_AFTER)
        self.assertEqual((out / "bochs_rc").read_text(), f"{boot.TIMEOUT_RC}\n")

    def test_boot_all_in_machine_order(self):
        machines = boot.parse_machines("cnl-1 skylake-2-debug skylake-1")
        fake = self.dir / "bochs"
        isos = {m.name: self.dir / f"{m.name}.iso" for m in machines}
        measured = boot.boot_all(machines, isos, fake, self.dir, 30, 2)
        self.assertEqual(list(measured), ["cnl-1", "skylake-2-debug", "skylake-1"])
        self.assertEqual({m.bochs_rc for m in measured.values()}, {0})
        self.assertIn('path="' + str(self.dir / "skylake-2-debug.iso"),
                      (self.dir / "skylake-2-debug" / "bochsrc").read_text())


if __name__ == "__main__":
    unittest.main()
