# SPDX-License-Identifier: GPL-2.0
"""Machine selection, the emulator's configuration, the boot loader's."""

import tempfile
import unittest
from pathlib import Path
from unittest import mock

from vapicvm_bench import boot, image, judge, kernels


class Machines(unittest.TestCase):
    """CONFIGS parsing."""

    def test_names_and_triples(self):
        machines = boot.parse_machines("cnl-1  skylake-2 big:corei7_skylake_x:4")
        self.assertEqual(machines, [boot.Machine("cnl-1", "corei3_cnl", 1),
                                    boot.Machine("skylake-2", "corei7_skylake_x", 2),
                                    boot.Machine("big", "corei7_skylake_x", 4)])

    def test_flavour(self):
        machines = boot.parse_machines("skylake-2-debug k:corei3_cnl:1:debug")
        self.assertEqual(machines, [boot.Machine("skylake-2-debug", "corei7_skylake_x", 2,
                                                 kernels.DEBUG),
                                    boot.Machine("k", "corei3_cnl", 1, kernels.DEBUG)])
        self.assertEqual(boot.parse_machines("x:corei3_cnl:1")[0].flavour, kernels.DEBIAN)
        with self.assertRaisesRegex(ValueError, "unknown kernel flavour fast"):
            boot.parse_machines("x:corei3_cnl:1:fast")

    def test_other_flavours_start_first(self):
        machines = boot.parse_machines("skylake-1 skylake-2-debug cnl-1")
        self.assertEqual([m.name for m in boot.start_order(machines)],
                         ["skylake-2-debug", "skylake-1", "cnl-1"])

    def test_unknown_name(self):
        with self.assertRaisesRegex(ValueError, "unknown config skylake-3"):
            boot.parse_machines("skylake-3")

    def test_trixie_machines(self):
        machines = boot.parse_machines("skylake-2-6.12 cnl-1-6.12 t:corei3_cnl:2:trixie")
        self.assertEqual(machines, [
            boot.Machine("skylake-2-6.12", "corei7_skylake_x", 2, kernels.TRIXIE),
            boot.Machine("cnl-1-6.12", "corei3_cnl", 1, kernels.TRIXIE),
            boot.Machine("t", "corei3_cnl", 2, kernels.TRIXIE)])

    def test_default_machines(self):
        self.assertEqual([m.name for m in boot.MACHINES],
                         ["skylake-1", "skylake-2-6.12", "cnl-2", "skylake-2-debug"])
        self.assertTrue(set(boot.MACHINES) <= set(boot.MATRIX))

    def test_longest_boots_start_first(self):
        order = [m.name for m in boot.start_order(boot.parse_machines(
            "cnl-1 cnl-2 skylake-1 skylake-2 skylake-2-6.12 skylake-2-debug"))]
        self.assertEqual(order, ["skylake-2-debug", "skylake-2-6.12", "skylake-2", "cnl-2",
                                 "skylake-1", "cnl-1"])

    def test_kernels(self):
        self.assertEqual(boot.machines_for_kernels("trixie"),
                         "skylake-1-6.12 skylake-2-6.12 cnl-1-6.12 cnl-2-6.12")
        self.assertEqual(boot.machines_for_kernels(" debian  trixie ").split(),
                         ["skylake-1", "skylake-2", "cnl-1", "cnl-2", "skylake-1-6.12",
                          "skylake-2-6.12", "cnl-1-6.12", "cnl-2-6.12"])
        self.assertEqual(boot.machines_for_kernels("debug"), "skylake-2-debug")
        self.assertEqual(boot.machines_for_kernels("debian trixie", "run"),
                         "skylake-2 skylake-2-6.12")
        # Every name it gives is a machine CONFIGS knows.
        self.assertEqual(len(boot.parse_machines(
            boot.machines_for_kernels("debian trixie debug"))), 9)
        with self.assertRaisesRegex(ValueError, "unknown kernel flavour 6.12"):
            boot.machines_for_kernels("6.12")
        with self.assertRaisesRegex(ValueError, "names no kernel flavour"):
            boot.machines_for_kernels("  ")

    def test_bochsrc(self):
        text = boot.bochsrc(boot.parse_machines("cnl-2")[0], Path("/b/boot.iso"), Path("/b/cnl-2"))
        self.assertIn("cpu: model=corei3_cnl, count=2, ips=200000000, reset_on_triple_fault=0\n",
                      text)
        self.assertIn('ata0-master: type=cdrom, path="/b/boot.iso", status=inserted\n', text)
        self.assertIn("com1: enabled=1, mode=file, dev=/b/cnl-2/serial.out\n", text)


class BootLoader(unittest.TestCase):
    """The kernel command line."""

    def test_mode_and_extra_cmdline(self):
        cfg = image.isolinux_cfg("run", "vapicvm.debug=1")
        self.assertIn(f"  APPEND initrd=/initrd.img {image.CMDLINE} vapicvm.mode=run "
                      "vapicvm.debug=1\n", cfg)
        self.assertIn("vapicvm.mode=check\n", image.isolinux_cfg("check", ""))


class MarkerTimes(unittest.TestCase):
    """Each test's wall time, from when its markers reached the serial log."""

    def test_markers_are_stamped_as_the_log_grows(self):
        with tempfile.TemporaryDirectory() as tmp:
            serial = Path(tmp) / "serial.out"
            clock = boot.MarkerClock(serial, start=100.0)
            with mock.patch.object(boot.time, "monotonic", return_value=101.0):
                clock.read()
                serial.write_bytes(b"[ 0.1] x\r\nVAPICVM-BENCH: begin a_test\r\nTAP ver")
                clock.read()
            with open(serial, "ab") as log_file:
                log_file.write(b"sion 13\r\nVAPICVM-BENCH: end a_test rc=0 guest_seconds=1.00\r\n"
                               b"VAPICVM-BENCH: begin b_test\r\nVAPICVM-BENCH: end b_te")
            with mock.patch.object(boot.time, "monotonic", return_value=104.5):
                clock.read()
            with open(serial, "ab") as log_file:
                log_file.write(b"st rc=1 guest_seconds=0.00\r\nVAPICVM-BENCH: begin c_test\r\n")
            with mock.patch.object(boot.time, "monotonic", return_value=110.0):
                clock.read()
        self.assertEqual([line.split(" ")[1] for _, line in clock.stamps],
                         ["begin", "end", "begin", "end", "begin"])
        self.assertEqual(clock.test_seconds(), {"a_test": 3.5, "b_test": 5.5})

    def test_report_ranks_by_wall_seconds_when_stamped(self):
        lines = ["VAPICVM-BENCH: boot mode=check uptime=1.00 cpus=1",
                 "VAPICVM-BENCH: begin a", "VAPICVM-BENCH: end a rc=0 guest_seconds=9.00",
                 "VAPICVM-BENCH: begin b", "VAPICVM-BENCH: end b rc=0 guest_seconds=1.00"]
        measured = judge.Boot(test_walls={"a": 2.0, "b": 30.25})
        report = judge.judge_machine("m", "\n".join(lines), ["a", "b"], measured)
        self.assertEqual(report.lines[-2],
                         "# m: slowest tests (wall s, of 32.2 in 2 tests): b 30.2, a 2.0")


if __name__ == "__main__":
    unittest.main()
