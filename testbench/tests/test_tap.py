# SPDX-License-Identifier: GPL-2.0
"""Counting TAP and picking out failure details."""

import unittest

from vapicvm_bench import tap

KSELFTEST_FAILURE = """\
TAP version 13
1..2
# Starting 2 tests from 1 test cases.
#  RUN           global.planted_pass ...
#            OK  global.planted_pass
ok 1 global.planted_pass
#  RUN           global.planted_failure ...
# planted_fail_test.c:12:planted_failure:Expected 1 (1) == 2 (2)
# planted_failure: Test terminated by assertion
#          FAIL  global.planted_failure
not ok 2 global.planted_failure
# FAILED: 1 / 2 tests passed.
"""


class Count(unittest.TestCase):
    """tap.count: ok, ok # SKIP, not ok, at any indentation."""

    def test_counts(self):
        self.assertEqual(tap.count(KSELFTEST_FAILURE), (1, 1, 0))

    def test_skip_directive_any_case(self):
        text = "ok 1 # SKIP no x2apic\nok 2 a # skip later\n  ok 3 nested\nnot ok 4 b # SKIP\n"
        self.assertEqual(tap.count(text), (1, 1, 2))

    def test_ignores_what_is_not_a_result(self):
        text = "# ok 1 in a comment\nok\nokay 1\nnot ok\n1..3\n"
        self.assertEqual(tap.count(text), (0, 0, 0))


class Details(unittest.TestCase):
    """tap.failure_details and tap.result_of_program."""

    def test_assertion_and_not_ok_lines(self):
        self.assertEqual(tap.failure_details(KSELFTEST_FAILURE), [
            "# planted_fail_test.c:12:planted_failure:Expected 1 (1) == 2 (2)",
            "#          FAIL  global.planted_failure",
            "not ok 2 global.planted_failure",
            "# FAILED: 1 / 2 tests passed.",
        ])

    def test_what_passing_tests_logged_is_left_out(self):
        """A suite that logs "file.c:N:" lines in every test: kept are the
        failed test's lines, those just after its "not ok" (diagnostics in
        other TAP producers) and those of a test that never ended."""
        text = ("#  RUN a ...\n# t.c:29:a:tier: none\nok 1 a\n"
                "#  RUN b ...\n# t.c:29:b:tier: none\n# t.c:80:b:Expected 1 (1) == 2 (2)\n"
                "not ok 2 b\n"
                "#  RUN c ...\n# t.c:29:c:tier: none\nok 3 c\n"
                "#  RUN d ...\n# t.c:29:d:tier: none\n")
        self.assertEqual(tap.failure_details(text), [
            "# t.c:29:b:tier: none", "# t.c:80:b:Expected 1 (1) == 2 (2)", "not ok 2 b",
            "# t.c:29:c:tier: none", "# t.c:29:d:tier: none"])

    def test_gtest_failure(self):
        """As userspace/tests/tap_main.cpp prints a failed assertion."""
        text = ("ok 1 A.B\n# tests/lib/lapic_test.cpp:45: failure\n"
                "#   Value of: lapic.read(0x80)\n#   Actual: 0\nnot ok 2 Lapic.RegisterAccess\n")
        self.assertEqual(tap.failure_details(text), [
            "# tests/lib/lapic_test.cpp:45: failure", "not ok 2 Lapic.RegisterAccess"])

    def test_limit(self):
        text = "".join(f"not ok {n} t\n" for n in range(1, 100))
        self.assertEqual(len(tap.failure_details(text)), tap.MAX_DETAILS)

    def test_exit_status_without_not_ok_fails_once(self):
        result = tap.result_of_program("host/abi_check", "ok 1 a\nok 2 b\n", 134)
        self.assertEqual(result.row(), "host/abi_check 2 1 0")
        self.assertEqual(result.details, ["not ok - host/abi_check exited with status 134"])

    def test_exit_status_with_not_ok(self):
        result = tap.result_of_program("host/x", KSELFTEST_FAILURE, 1)
        self.assertEqual(result.row(), "host/x 1 1 0")


if __name__ == "__main__":
    unittest.main()
