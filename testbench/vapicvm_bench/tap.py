# SPDX-License-Identifier: GPL-2.0
"""Counting TAP streams, and picking out the lines that explain a failure.

Every suite's results, guest or host, are counted the same way, from the
text its test program printed: an "ok N" is a pass unless it carries a
"# SKIP" directive, a "not ok N" is a failure.  Indented lines count too
(subtests of the kselftest harness and of the unit tests).
"""

import re
from dataclasses import dataclass, field

_NOT_OK = re.compile(r"^\s*not ok [0-9]+")
_SKIP = re.compile(r"^\s*ok [0-9]+.*#\s*skip", re.IGNORECASE)
_OK = re.compile(r"^\s*ok [0-9]+")

# What a reader needs when a suite failed: its "not ok" lines and the
# harnesses' assertion messages ("# foo_test.c:123:name:Expected ...",
# gtest's "# ...cpp:45: failure", "FAIL" lines, Python's "# AssertionError:").
_DETAIL = re.compile(r"^\s*not ok|^\s*# .*\.(c|cpp|h|hpp):[0-9]+:|^\s*#.*(Expected|FAIL|Error:)")

# How many explaining lines to repeat per failed suite.
MAX_DETAILS = 40


@dataclass
class Result:
    """One row of the summary: a suite ("machine/test" or "host/name")
    and its counts, with the lines that explain its failures."""

    suite: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    details: list = field(default_factory=list)

    def row(self):
        """The results.txt line: "<suite> <passed> <failed> <skipped>"."""
        return f"{self.suite} {self.passed} {self.failed} {self.skipped}"


def count(text):
    """(passed, failed, skipped) of a TAP text."""
    passed = failed = skipped = 0
    for line in text.splitlines():
        if _NOT_OK.match(line):
            failed += 1
        elif _SKIP.match(line):
            skipped += 1
        elif _OK.match(line):
            passed += 1
    return passed, failed, skipped


def failure_details(text, limit=MAX_DETAILS):
    """The lines of a TAP text that say what failed, at most limit.

    What a passing test logged explains nothing and, when a suite logs
    its parameters in every test, would crowd out the failures.  So the
    lines between two "ok" results are left out; kept are those up to a
    "not ok" (where kselftest prints its assertions), just after one
    (where TAP diagnostics go) and after the last result (a test that
    never ended, the closing count).
    """
    details, block, after_failure = [], [], False
    for line in text.splitlines():
        if _NOT_OK.match(line):
            details += block + [line]
            block, after_failure = [], True
        elif _OK.match(line):
            if after_failure:
                details += block
            block, after_failure = [], False
        elif _DETAIL.search(line):
            block.append(line)
    return (details + block)[:limit]


def result_of_program(suite, text, rc):
    """A test program's result from its TAP output and exit status: a
    non-zero exit with no "not ok" still fails the suite once."""
    passed, failed, skipped = count(text)
    details = failure_details(text)
    if rc != 0 and failed == 0:
        failed = 1
        details.append(f"not ok - {suite} exited with status {rc}")
    return Result(suite, passed, failed, skipped, details)
