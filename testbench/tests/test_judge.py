# SPDX-License-Identifier: GPL-2.0
"""The judge on recorded serial logs: a passing run, and every kind of
failure that must fail one."""

import unittest

from vapicvm_bench import judge, markers

from . import logs

BOOT = judge.Boot(bochs_rc=0, wall_seconds="98.7", boot_wall_seconds="9.8",
                  bochs_output="", timeout=1500)


def rows(report):
    """The report's result rows as text."""
    return [result.row() for result in report.results]


def machine_row(report):
    """The report's machine row."""
    return report.results[-1]


class PassingRun(unittest.TestCase):
    """Real serial logs of runs that passed."""

    def test_skylake_counts_every_test_and_the_machine(self):
        report = judge.judge_machine("skylake-1", logs.load("pass-skylake-1.serial"),
                                     logs.PASS_SKYLAKE_TESTS, BOOT)
        self.assertEqual(rows(report), [
            "skylake-1/cpu_hotplug_test 0 0 1",
            "skylake-1/exit_cost_test 1 0 0",
            "skylake-1/pio_test 6 0 0",
            "skylake-1/machine 1 0 0",
        ])
        self.assertNotIn("not ok", report.text())

    def test_cnl_counts_skips(self):
        report = judge.judge_machine("cnl-1", logs.load("pass-cnl-1.serial"),
                                     logs.PASS_CNL_TESTS, BOOT)
        self.assertEqual(rows(report), ["cnl-1/smp_test 4 0 1", "cnl-1/pio_test 6 0 0",
                                        "cnl-1/machine 1 0 0"])

    def test_report_prints_header_each_tap_and_timing(self):
        report = judge.judge_machine("skylake-1", logs.load("pass-skylake-1.serial"),
                                     logs.PASS_SKYLAKE_TESTS, BOOT)
        text = report.text()
        self.assertIn("######## skylake-1: mode=check uptime=0.68 cpus=1 (wall 98.7 s)\n", text)
        self.assertIn("# skylake-1: pio_test\nTAP version 13\n1..6\n", text)
        self.assertIn("VAPICVM-BENCH: end pio_test rc=0 guest_seconds=0.01\n", text)
        self.assertTrue(report.lines[-1].startswith(
            "# skylake-1: boot to /init 9.8 s wall (0.68 guest s); whole run 98.7 s wall, 6.81"))
        self.assertNotIn("\r", text)

    def test_report_names_the_slowest_tests(self):
        serial = logs.load("pass-skylake-1.serial").replace(
            "end exit_cost_test rc=0 guest_seconds=0.01",
            "end exit_cost_test rc=0 guest_seconds=12.34").replace(
            "end pio_test rc=0 guest_seconds=0.01", "end pio_test rc=0 guest_seconds=3.5")
        report = judge.judge_machine("skylake-1", serial, logs.PASS_SKYLAKE_TESTS, BOOT)
        self.assertEqual(report.lines[-2], "# skylake-1: slowest tests (guest s, of 15.8 in 3 "
                                           "tests): exit_cost_test 12.3, pio_test 3.5, "
                                           "cpu_hotplug_test 0.0")

    def test_a_test_that_did_not_end_has_no_time(self):
        sections = judge.split_sections(["VAPICVM-BENCH: begin a", "x",
                                         "VAPICVM-BENCH: begin b",
                                         "VAPICVM-BENCH: end b rc=0 guest_seconds=2.00"])
        self.assertEqual(judge.test_seconds(sections), [("b", 2.0)])


class GuestsThroughVapicvm(unittest.TestCase):
    """The main job's guests: the test vmm_guests of make check, the job
    main-job of make run (the same script, the same TAP)."""

    def test_vmm_guests(self):
        report = judge.judge_machine("skylake-1", logs.load("vmm-guests-skylake-1.serial"),
                                     ["vmm_guests"], BOOT)
        self.assertEqual(rows(report), ["skylake-1/vmm_guests 4 0 0", "skylake-1/machine 1 0 0"])
        self.assertIn("ok 4 linux-2cpu", report.lines)

    def test_main_job(self):
        serial = logs.load("vmm-guests-skylake-1.serial").replace(
            "begin vmm_guests", "begin main-job").replace("end vmm_guests", "end main-job")
        report = judge.judge_machine("skylake-2", serial, ["main-job"], BOOT)
        self.assertEqual(rows(report), ["skylake-2/main-job 4 0 0", "skylake-2/machine 1 0 0"])

    def test_nested_console_line_ends(self):
        """The nested Linux guest's console adds a \r of its own."""
        self.assertEqual(judge.serial_lines("# linux-2cpu| [ 0.69] ok\r\r\nok 4 x\r\n"),
                         ["# linux-2cpu| [ 0.69] ok", "ok 4 x"])


class FailedRun(unittest.TestCase):
    """Each kind of failure, made from a passing log (see logs.py)."""

    def judge(self, serial, tests=None):
        """Judge a skylake-1 log."""
        return judge.judge_machine("skylake-1", serial, tests or logs.PASS_SKYLAKE_TESTS, BOOT)

    def result(self, report, test):
        """The result row of one test."""
        return next(r for r in report.results if r.suite == f"skylake-1/{test}")

    def test_not_ok_line_fails_the_test(self):
        serial = logs.load("pass-skylake-1.serial").replace(
            "ok 3 global.set_regs", "not ok 3 global.set_regs").replace(
            "end pio_test rc=0", "end pio_test rc=1")
        report = self.judge(serial)
        self.assertEqual(self.result(report, "pio_test").row(), "skylake-1/pio_test 5 1 0")
        self.assertEqual(self.result(report, "pio_test").details,
                         ["not ok 3 global.set_regs_discards_a_pending_in"])
        self.assertEqual(machine_row(report).row(), "skylake-1/machine 1 0 0")

    def test_test_that_did_not_finish(self):
        serial = logs.cut_after(logs.load("pass-skylake-1.serial"),
                                "ok 2 global.in_completes_on_next_run")
        report = self.judge(serial)
        pio = self.result(report, "pio_test")
        self.assertEqual(pio.row(), "skylake-1/pio_test 2 1 0")
        self.assertIn("not ok - pio_test did not finish (hang or crash); serial tail:", pio.details)
        self.assertIn("#   ok 2 global.in_completes_on_next_run", report.lines)
        machine = machine_row(report)
        self.assertEqual(machine.failed, 2)
        self.assertIn("not ok - skylake-1: the guest did not finish (timeout 1500s or hang);"
                      " serial tail:", machine.details)
        self.assertIn("not ok - skylake-1: vapicvm did not unload (leaked reference?)",
                      machine.details)

    def test_non_zero_exit_without_not_ok(self):
        serial = logs.load("pass-skylake-1.serial").replace(
            "end pio_test rc=0 guest_seconds=0.01", "end pio_test rc=139 guest_seconds=0.01")
        report = self.judge(serial)
        pio = self.result(report, "pio_test")
        self.assertEqual(pio.row(), "skylake-1/pio_test 6 1 0")
        self.assertEqual(pio.details, ["not ok - pio_test exited with rc=139 guest_seconds=0.01"])

    def test_non_zero_exit_with_not_ok_counts_once(self):
        serial = logs.load("pass-skylake-1.serial").replace(
            "ok 6 global.many_round_trips", "not ok 6 global.many_round_trips").replace(
            "end pio_test rc=0", "end pio_test rc=1")
        self.assertEqual(self.result(self.judge(serial), "pio_test").row(),
                         "skylake-1/pio_test 5 1 0")

    def test_test_with_no_results(self):
        lines = logs.lines_of(logs.load("pass-skylake-1.serial"))
        begin = lines.index("VAPICVM-BENCH: begin pio_test")
        end = next(i for i, line in enumerate(lines) if line.startswith("VAPICVM-BENCH: end pio"))
        serial = logs.join(lines[: begin + 1] + ["pio_test: cannot open /dev/vapicvm"]
                           + lines[end:])
        pio = self.result(self.judge(serial), "pio_test")
        self.assertEqual(pio.row(), "skylake-1/pio_test 0 1 0")
        self.assertEqual(pio.details, ["not ok - pio_test reported no results"])

    def test_missing_test(self):
        serial = logs.drop_section(logs.load("pass-skylake-1.serial"), "exit_cost_test")
        report = self.judge(serial)
        missing = self.result(report, "exit_cost_test")
        self.assertEqual(missing.row(), "skylake-1/exit_cost_test 0 1 0")
        self.assertEqual(missing.details, ["not ok - exit_cost_test did not run"])
        self.assertEqual(self.result(report, "pio_test").row(), "skylake-1/pio_test 6 0 0")

    def test_module_did_not_load(self):
        serial = logs.replace_line(logs.load("pass-skylake-1.serial"),
                                   "VAPICVM-BENCH: insmod ok", "VAPICVM-BENCH: insmod failed")
        report = self.judge(serial)
        self.assertEqual(machine_row(report).row(), "skylake-1/machine 0 1 0")
        self.assertEqual(machine_row(report).details,
                         ["not ok - skylake-1: vapicvm.ko did not load"])
        # Said before the tests' output, which it explains.
        self.assertLess(report.lines.index("not ok - skylake-1: vapicvm.ko did not load"),
                        report.lines.index("# skylake-1: cpu_hotplug_test"))

    def test_module_did_not_unload(self):
        serial = logs.replace_line(logs.load("pass-skylake-1.serial"),
                                   "VAPICVM-BENCH: rmmod ok", "VAPICVM-BENCH: rmmod failed")
        self.assertEqual(machine_row(self.judge(serial)).details,
                         ["not ok - skylake-1: vapicvm did not unload (leaked reference?)"])

    def test_guest_did_not_finish(self):
        serial = logs.cut_after(logs.load("pass-skylake-1.serial"), "VAPICVM-BENCH: rmmod ok")
        report = self.judge(serial)
        self.assertEqual(machine_row(report).row(), "skylake-1/machine 0 1 0")
        self.assertIn("#   VAPICVM-BENCH: rmmod ok", report.lines)
        self.assertEqual([r.failed for r in report.results[:-1]], [0, 0, 0])

    def test_no_serial_output(self):
        boot = judge.Boot(bochs_rc=1, wall_seconds="0.4",
                          bochs_output="========\nBochs is exiting with the following message:\n"
                                       "[BIOS  ] No bootable device.\n")
        report = judge.judge_machine("cnl-2", "", logs.PASS_CNL_TESTS, boot)
        self.assertEqual(rows(report), ["cnl-2/boot 0 1 0"])
        self.assertIn("not ok - cnl-2: no serial output (bochs rc 1)", report.lines)
        self.assertEqual(report.lines[-1], "[BIOS  ] No bootable device.")


class PlantedRun(unittest.TestCase):
    """The real serial log of the bench's self-check (testbench/plant/):
    a failing test, a WARN and a KASAN-like report."""

    def setUp(self):
        self.report = judge.judge_machine("skylake-1", logs.load("planted-skylake-1.serial"),
                                          logs.PLANTED_TESTS, BOOT)

    def test_rows(self):
        self.assertEqual(rows(self.report), ["skylake-1/device_test 9 0 0",
                                             "skylake-1/planted_fail_test 1 1 0",
                                             "skylake-1/machine 0 1 0"])

    def test_failing_test_details(self):
        details = self.report.results[1].details
        self.assertIn("not ok 2 global.planted_failure", details)
        self.assertTrue(any(line.endswith("planted_fail_test.c:12:planted_failure:Expected 1 (1)"
                                          " == 2 (2)") for line in details))

    def test_warn_and_kasan_are_printed(self):
        details = "\n".join(machine_row(self.report).details)
        self.assertRegex(details, r"#   VAPICVM-DMESG: .*WARNING: CPU: 0 PID: .*planted_warn")
        self.assertRegex(details, r"#   VAPICVM-DMESG: .*BUG: KASAN: planted-report")
        # pr_err also reached the console, before the tests ran.
        self.assertRegex(details, r"#   \[ *[0-9.]+\] BUG: KASAN: planted-report")


# One kernel log line per pattern of markers.KERNEL_PROBLEMS, as the kernel
# prints it.
KERNEL_LINES = {
    r"WARNING:": "[    4.101] WARNING: CPU: 0 PID: 87 at module/vmx.c:123 vmx_run+0x1/0x2",
    r"BUG:": "[    4.102] BUG: kernel NULL pointer dereference, address: 0000000000000008",
    r"kernel BUG": "[    4.103] kernel BUG at module/lapic.c:200!",
    r"Oops": "[    4.104] Oops: 0002 [#1] PREEMPT SMP NOPTI",
    r"general protection": "[    4.105] general protection fault, probably for non-canonical "
                           "address 0xdead000000000100: 0000 [#1] SMP NOPTI",
    r"Kernel panic": "[    4.106] Kernel panic - not syncing: Fatal exception",
    r"soft lockup": "[   30.107] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [exit_test:90]",
    r"hard LOCKUP": "[   30.108] NMI watchdog: Watchdog detected hard LOCKUP on cpu 1",
    r"KASAN": logs.KASAN_REPORT[1],
    r"UBSAN": "[    4.110] UBSAN: shift-out-of-bounds in module/lapic.c:88:20",
    r"lockdep( is| bfs|:| annotation)": "[    4.111] INFO: lockdep is turned off.",
    r"locking correctness validator":
        "[    4.111] turning off the locking correctness validator.",
    r"possible (recursive|circular) locking":
        "[    4.112] WARNING: possible circular locking dependency detected",
    r"blocked for more than":
        "[  243.113] INFO: task vm_lifecycle_te:101 blocked for more than 120 seconds.",
    r"unchecked MSR access": "[    4.114] unchecked MSR access error: WRMSR to 0x48 "
                             "(tried to write 0x0000000000000004) at rIP: 0xffffffffc0a01234",
    r"Call Trace": "[    4.115] Call Trace:",
    r"KFENCE": "[    4.116] kfence: KFENCE is disabled after a report",
    r"ODEBUG": "[    4.117] ODEBUG: free active (active state 0) object: ffff888004a3c120 "
               "object type: hrtimer hint: lapic_timer_fn+0x0/0x90 [vapicvm]",
    r"non-static key": "[    4.118] INFO: trying to register non-static key.",
    r"but (NOT )?annotated":
        "[    4.119] object ffffc90000327d30 is NOT on stack ffffc90000320000, but annotated.",
    r"corruption": "[    4.120] list_del corruption. prev->next should be ffff888004a3c120, "
                   "but was dead000000000100. (prev=ffff888004a3c000)",
}

# The first line of each report of the debug kernel's checks, as Linux 6.1
# prints it (mm/kasan/report.c, mm/kfence/report.c, lib/ubsan.c,
# kernel/locking/lockdep.c, kernel/sched/core.c, lib/debugobjects.c,
# lib/list_debug.c): each fails a run by itself.
DEBUG_REPORT_HEADERS = (
    "BUG: KASAN: slab-out-of-bounds in vm_ioctl+0x1a2/0x3c0 [vapicvm]",
    "BUG: KASAN: use-after-free in lapic_timer_fn+0x21/0x90 [vapicvm]",
    "BUG: KFENCE: out-of-bounds read in vcpu_run+0x3f/0x120 [vapicvm]",
    "BUG: KFENCE: use-after-free write in vm_release+0x10/0x40 [vapicvm]",
    "BUG: KFENCE: memory corruption in kfree+0x7a/0x120",
    "UBSAN: shift-out-of-bounds in module/lapic.c:88:20",
    "UBSAN: array-index-out-of-bounds in module/exit.c:301:9",
    "WARNING: possible circular locking dependency detected",
    "WARNING: possible recursive locking detected",
    "WARNING: inconsistent lock state",
    "WARNING: possible irq lock inversion dependency detected",
    "WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected",
    "WARNING: bad unlock balance detected!",
    "WARNING: held lock freed!",
    "WARNING: suspicious RCU usage",
    "WARNING: lock held when returning to user space!",
    "INFO: trying to register non-static key.",
    "BUG: sleeping function called from invalid context at mm/slab.h:712",
    "BUG: scheduling while atomic: vapicvm_test/91/0x00000002",
    "BUG: using smp_processor_id() in preemptible [00000000] code: exit_test/88",
    "ODEBUG: free active (active state 0) object: ffff888004a3c120 object type: hrtimer",
    "ODEBUG: activate destroyed (active state 0) object: ffff888004a3c120 object type: timer_list",
    "list_add corruption. next->prev should be prev (ffff888004a3c000), but was 0000000000000000.",
)


class KernelProblem(unittest.TestCase):
    """Every kernel-problem pattern fails a run, and its line is printed."""

    def test_every_pattern_has_an_example(self):
        self.assertEqual(set(KERNEL_LINES), set(markers.KERNEL_PROBLEMS))

    def check_fails(self, serial, line):
        """serial must fail skylake-1's machine row and print line."""
        report = judge.judge_machine("skylake-1", serial, logs.PASS_SKYLAKE_TESTS, BOOT)
        machine = machine_row(report)
        self.assertEqual(machine.row(), "skylake-1/machine 0 1 0")
        self.assertIn("not ok - skylake-1: kernel reported a problem:", machine.details)
        self.assertIn(line, "\n".join(machine.details))
        self.assertIn(line, report.text())

    def test_each_pattern_in_dmesg(self):
        for pattern, line in KERNEL_LINES.items():
            with self.subTest(pattern=pattern):
                self.assertRegex(line, pattern)
                self.check_fails(logs.with_dmesg(logs.load("pass-skylake-1.serial"), [line]),
                                 "VAPICVM-DMESG: " + line)

    def test_each_pattern_on_the_console(self):
        """A message that reached the console while a test ran (a panic
        stops /init before it re-prints dmesg)."""
        for pattern, line in KERNEL_LINES.items():
            with self.subTest(pattern=pattern):
                serial = logs.insert_before(logs.load("pass-skylake-1.serial"),
                                            "ok 4 global.real_mode", [line])
                self.check_fails(serial, line)

    def test_debug_kernel_report_headers(self):
        for header in DEBUG_REPORT_HEADERS:
            with self.subTest(header=header):
                self.assertTrue(markers.is_kernel_problem("[   12.345] " + header))

    def test_kasan_report_every_line_printed(self):
        serial = logs.with_dmesg(logs.load("pass-skylake-1.serial"), logs.KASAN_REPORT[:2])
        report = judge.judge_machine("skylake-1", serial, logs.PASS_SKYLAKE_TESTS, BOOT)
        printed = [line for line in report.lines if line.startswith("#   VAPICVM-DMESG:")]
        self.assertEqual(printed, ["#   VAPICVM-DMESG: " + line for line in logs.KASAN_REPORT[:2]])

    def test_any_dmesg_marker_line_fails(self):
        """/init decides what to re-print; whatever it re-printed fails."""
        serial = logs.with_dmesg(logs.load("pass-skylake-1.serial"), ["[ 1.0] anything"])
        self.check_fails(serial, "VAPICVM-DMESG: [ 1.0] anything")

    def test_module_log_lines_do_not_fail(self):
        report = judge.judge_machine("skylake-1", logs.load("pass-skylake-1.serial"),
                                     logs.PASS_SKYLAKE_TESTS, BOOT)
        self.assertIn("VAPICVM-LOG: [    0.669339] vapicvm: loading out-of-tree module taints"
                      " kernel.", "\n".join(logs.lines_of(logs.load("pass-skylake-1.serial"))))
        self.assertEqual(machine_row(report).failed, 0)


class Sections(unittest.TestCase):
    """Splitting a serial log per test binary."""

    def test_sections_end_with_their_marker(self):
        sections = judge.split_sections(logs.lines_of(logs.load("pass-skylake-1.serial")))
        self.assertEqual(list(sections), logs.PASS_SKYLAKE_TESTS)
        self.assertEqual(sections["pio_test"].end,
                         "VAPICVM-BENCH: end pio_test rc=0 guest_seconds=0.01")
        self.assertEqual(sections["pio_test"].lines[0], "TAP version 13")

    def test_unfinished_section_runs_to_the_next_begin(self):
        lines = ["VAPICVM-BENCH: begin a_test", "ok 1 x", "VAPICVM-BENCH: begin b_test",
                 "ok 1 y", "VAPICVM-BENCH: end b_test rc=0"]
        sections = judge.split_sections(lines)
        self.assertIsNone(sections["a_test"].end)
        self.assertEqual(sections["a_test"].lines, ["ok 1 x"])
        self.assertEqual(sections["b_test"].end, "VAPICVM-BENCH: end b_test rc=0")


if __name__ == "__main__":
    unittest.main()
