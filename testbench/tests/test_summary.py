# SPDX-License-Identifier: GPL-2.0
"""The summary: failures repeated next to the closing count line."""

import unittest

from vapicvm_bench import judge, summary, tap

from . import logs
from .test_tap import KSELFTEST_FAILURE


class Summary(unittest.TestCase):
    """summary_lines and exit_status over guest and host results."""

    def test_passing_run(self):
        results = [tap.Result("host/abi_check", 2), tap.Result("skylake-1/smp_test", 4, 0, 1)]
        self.assertEqual(summary.summary_lines(results), ["", "6 passed, 0 failed, 1 skipped"])
        self.assertEqual(summary.exit_status(results), 0)

    def test_host_failure_is_repeated(self):
        results = [tap.result_of_program("host/lib-tests", KSELFTEST_FAILURE, 1),
                   tap.Result("skylake-1/smp_test", 4, 0, 1)]
        lines = summary.summary_lines(results)
        self.assertEqual(lines[1], "# --- host/lib-tests: failed checks")
        self.assertIn("# planted_fail_test.c:12:planted_failure:Expected 1 (1) == 2 (2)", lines)
        self.assertIn("not ok 2 global.planted_failure", lines)
        self.assertEqual(lines[-2:], ["# failed: host/lib-tests", "5 passed, 1 failed, 1 skipped"])
        self.assertEqual(summary.exit_status(results), 1)

    def test_guest_failures_are_repeated(self):
        # The guest hung after a KASAN report reached the console.
        serial = logs.insert_before(
            logs.cut_after(logs.load("pass-skylake-1.serial"), "VAPICVM-BENCH: rmmod ok"),
            "VAPICVM-BENCH: rmmod ok", logs.KASAN_REPORT)
        report = judge.judge_machine("skylake-1", serial, logs.PASS_SKYLAKE_TESTS,
                                     judge.Boot(timeout=60))
        lines = summary.summary_lines(report.results)
        self.assertIn("# --- skylake-1/machine: failed checks", lines)
        self.assertIn("not ok - skylake-1: the guest did not finish (timeout 60s or hang);"
                      " serial tail:", lines)
        self.assertIn("#   " + logs.KASAN_REPORT[1], lines)
        self.assertEqual(lines[-1], "7 passed, 2 failed, 1 skipped")

    def test_results_text(self):
        self.assertEqual(summary.results_text([tap.Result("cnl-1/pio_test", 6, 0, 0)]),
                         "cnl-1/pio_test 6 0 0\n")


if __name__ == "__main__":
    unittest.main()
