# SPDX-License-Identifier: GPL-2.0
"""What the debug-kernel machine runs in check: DEBUG_SUITE by default,
DEBUG_TESTS when set ("all": everything), everything when TESTS is set;
every other machine and mode runs everything."""

import unittest
from pathlib import Path
from types import SimpleNamespace

from vapicvm_bench import kernels, main
from vapicvm_bench.log import BenchError

AVAILABLE = sorted(set(main.DEBUG_SUITE) - set(main.BENCH_TESTS)) + ["apic_cost_test"]


def settings(mode="check", tests=None, debug_tests=None):
    """Settings with just what debug_selection reads."""
    return SimpleNamespace(mode=mode, tests=tests, debug_tests=debug_tests)


def kernel(name):
    """A kernel of flavour name, as debug_selection sees it."""
    return SimpleNamespace(name=name)


class DebugSelection(unittest.TestCase):
    """debug_selection for each flavour, mode and setting."""

    def test_debug_kernel_runs_the_suite_by_default(self):
        chosen = main.debug_selection(settings(), kernel(kernels.DEBUG), AVAILABLE)
        self.assertEqual(chosen, set(main.DEBUG_SUITE))
        self.assertNotIn("apic_cost_test", chosen)

    def test_the_suite_has_the_lifetime_and_fuzz_tests(self):
        for name in ("vm_lifecycle_test", "fd_lifetime_test", "ioctl_fuzz_test",
                     "guest_fuzz_test", "kvm_coexist_test", "module_params_test"):
            self.assertIn(name, main.DEBUG_SUITE)

    def test_the_suite_names_tests_that_exist(self):
        selftests = Path(__file__).resolve().parents[2] / "selftests"
        for name in main.DEBUG_SUITE:
            if name not in main.BENCH_TESTS:
                self.assertTrue((selftests / f"{name}.c").exists(), name)

    def test_debug_tests_all_runs_everything(self):
        self.assertIsNone(main.debug_selection(settings(debug_tests=["all"]),
                                               kernel(kernels.DEBUG), AVAILABLE))

    def test_debug_tests_names_the_tests(self):
        chosen = main.debug_selection(settings(debug_tests=["apic_cost_test", "vmm_guests"]),
                                      kernel(kernels.DEBUG), AVAILABLE)
        self.assertEqual(chosen, {"apic_cost_test", "vmm_guests"})

    def test_unknown_debug_test_is_an_error(self):
        with self.assertRaises(BenchError):
            main.debug_selection(settings(debug_tests=["no_such_test"]),
                                 kernel(kernels.DEBUG), AVAILABLE)

    def test_tests_overrides_the_subset(self):
        self.assertIsNone(main.debug_selection(settings(tests=["apic_cost_test"]),
                                               kernel(kernels.DEBUG), AVAILABLE))

    def test_other_kernels_and_run_mode_run_everything(self):
        for name in (kernels.DEBIAN, kernels.TRIXIE):
            self.assertIsNone(main.debug_selection(settings(), kernel(name), AVAILABLE))
        self.assertIsNone(main.debug_selection(settings(mode="run"), kernel(kernels.DEBUG),
                                               AVAILABLE))


class DebugEnvironment(unittest.TestCase):
    """The fuzz budget the debug subset runs with."""

    def test_guest_fuzz_still_runs_more_than_one_vm_per_tier(self):
        self.assertGreaterEqual(int(main.DEBUG_ENVIRONMENT["FUZZ_STEPS"]), 2)


if __name__ == "__main__":
    unittest.main()
