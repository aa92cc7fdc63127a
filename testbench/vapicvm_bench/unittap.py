# SPDX-License-Identifier: GPL-2.0
"""Run the bench's own unit tests and print TAP, so that "make check" counts
them like every other host-side suite (the row "host/bench-unit").

    python3 -m vapicvm_bench.unittap [start directory]

Standard library only: a unittest result class that prints one TAP line
per test as it finishes, and the failure's traceback as comments.
"""

import os
import sys
import unittest


class TapResult(unittest.TestResult):
    """unittest results as TAP 13 lines on a stream."""

    def __init__(self, stream):
        super().__init__()
        self.stream = stream
        self.number = 0

    def _line(self, status, description, trace=None):
        self.number += 1
        self.stream.write(f"{status} {self.number} {description}\n")
        for line in (trace or "").splitlines():
            self.stream.write(f"# {line}\n")

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line("ok", test.id())

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line("not ok", test.id(), self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self._line("not ok", test.id(), self.errors[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line("ok", f"{test.id()} # SKIP {reason}")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line("ok", f"{test.id()} # TODO expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line("not ok", f"{test.id()} # unexpected success")

    def addSubTest(self, test, subtest, err):
        """A failed subtest is reported (and counted) as its own line."""
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._line("not ok", subtest.id(), self._exc_info_to_string(err, test))


def main(argv):
    """Discover the tests under argv[1] (default: ../tests) and run them."""
    here = os.path.dirname(os.path.abspath(__file__))
    start = argv[1] if len(argv) > 1 else os.path.join(here, "..", "tests")
    top = os.path.dirname(here)
    suite = unittest.defaultTestLoader.discover(start, top_level_dir=top)
    print("TAP version 13")
    result = TapResult(sys.stdout)
    suite.run(result)
    # The plan comes last: a failed subtest adds a line of its own.
    print(f"1..{result.number}")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
