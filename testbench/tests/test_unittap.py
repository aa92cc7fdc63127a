# SPDX-License-Identifier: GPL-2.0
"""The unit tests' TAP, as make check counts it."""

import io
import unittest

from vapicvm_bench import tap, unittap


def sample_case():
    """A test case with one test of each outcome (made on demand, so that
    discovery does not run it as a test of its own)."""

    class Sample(unittest.TestCase):
        def test_a_pass(self):
            pass

        def test_b_fail(self):
            self.assertEqual(1, 2)

        @unittest.skip("not here")
        def test_c_skip(self):
            pass

        def test_d_subtests(self):
            for n in (1, 2):
                with self.subTest(n=n):
                    self.assertEqual(n, 1)

    return Sample


class TapOutput(unittest.TestCase):
    """TapResult's lines and what tap.count makes of them."""

    def test_outcomes(self):
        stream = io.StringIO()
        case = sample_case()
        unittest.defaultTestLoader.loadTestsFromTestCase(case).run(unittap.TapResult(stream))
        name = f"{__name__}.sample_case.<locals>.Sample"
        lines = stream.getvalue().splitlines()
        results = [line for line in lines if not line.startswith("#")]
        self.assertEqual(results[0], f"ok 1 {name}.test_a_pass")
        self.assertEqual(results[1], f"not ok 2 {name}.test_b_fail")
        self.assertEqual(results[2], f"ok 3 {name}.test_c_skip # SKIP not here")
        self.assertTrue(results[3].startswith(f"not ok 4 {name}.test_d_subtests"))
        self.assertIn("# AssertionError: 1 != 2", lines)
        self.assertEqual(tap.failure_details(stream.getvalue())[:2],
                         [f"not ok 2 {name}.test_b_fail", "# AssertionError: 1 != 2"])
        # The failed subtest counts; the test itself reports nothing more.
        self.assertEqual(tap.count(stream.getvalue()), (1, 2, 1))


if __name__ == "__main__":
    unittest.main()
