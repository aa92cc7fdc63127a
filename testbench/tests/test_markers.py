# SPDX-License-Identifier: GPL-2.0
"""Guest and host read the same markers and patterns: the shell fragment
/init sources holds exactly markers.py's values, and busybox's grep -E
(what /init filters dmesg with) agrees with Python's re on them."""

import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from vapicvm_bench import markers

from .test_judge import KERNEL_LINES

INIT = Path(__file__).resolve().parents[1] / "guest" / "init"
BUSYBOX = shutil.which("busybox") or "/bin/busybox"
HARMLESS = [
    "[    0.004608] [Firmware Bug]: TSC_DEADLINE disabled due to Errata",
    "[    0.669339] vapicvm: loading out-of-tree module taints kernel.",
    "ok 5 # SKIP one host CPU: nothing to migrate to",
    "# linux-2cpu| [    0.231265] mce: Unable to init MCE device (rc: -5)",
    # The debug kernel's boot.
    "[    0.000000] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar",
    "[    0.000000] ... MAX_LOCKDEP_SUBCLASSES:  8",
    "[    0.000000] rcu: \tRCU lockdep checking is enabled.",
    "[    0.012000] kfence: initialized - using 2097152 bytes for 255 objects",
    "[    0.020000] ACPI: Failed to create genetlink family for ACPI event",
]


def sourced(fragment, expression):
    """The value of a shell expression after sourcing fragment."""
    with tempfile.NamedTemporaryFile("w", suffix=".sh") as script:
        script.write(fragment)
        script.flush()
        return subprocess.run([BUSYBOX, "sh", "-c", f'. {script.name}; printf %s "{expression}"'],
                              stdout=subprocess.PIPE, text=True, check=True).stdout


@unittest.skipUnless(Path(BUSYBOX).exists(), "busybox is not installed")
class GuestAgrees(unittest.TestCase):
    """The fragment as the guest's busybox sh and grep see it."""

    def test_fragment_defines_the_markers(self):
        fragment = markers.shell_fragment()
        self.assertEqual(sourced(fragment, "$BENCH_MARKER"), markers.BENCH)
        self.assertEqual(sourced(fragment, "$DMESG_MARKER"), markers.DMESG)
        self.assertEqual(sourced(fragment, "$LOG_MARKER"), markers.LOG)
        self.assertEqual(sourced(fragment, "$KERNEL_PROBLEMS"), "|".join(markers.KERNEL_PROBLEMS))

    def test_busybox_grep_matches_what_python_matches(self):
        lines = list(KERNEL_LINES.values()) + HARMLESS
        pattern = sourced(markers.shell_fragment(), "$KERNEL_PROBLEMS")
        grep = subprocess.run([BUSYBOX, "grep", "-E", pattern], input="\n".join(lines) + "\n",
                              stdout=subprocess.PIPE, text=True, check=False).stdout
        self.assertEqual(grep.splitlines(),
                         [line for line in lines if markers.KERNEL_PROBLEM_RE.search(line)])
        self.assertEqual(grep.splitlines(), list(KERNEL_LINES.values()))


class OneDefinition(unittest.TestCase):
    """/init spells no marker and no pattern itself."""

    def test_init_sources_the_fragment(self):
        self.assertIn(". $BENCH/markers.sh", INIT.read_text())
        self.assertEqual(markers.GUEST_MARKERS, "/lib/vapicvm-bench/markers.sh")

    def test_init_has_no_literal_marker_or_pattern(self):
        code = [line for line in INIT.read_text().splitlines()
                if not line.lstrip().startswith("#")]
        for literal in (markers.BENCH, markers.DMESG, markers.LOG, "soft lockup", "KASAN"):
            with self.subTest(literal=literal):
                self.assertFalse([line for line in code if literal in line])

    def test_kvm_guest_console_is_not_judged(self):
        stall = "[   48.041090] watchdog: BUG: soft lockup - CPU#1 stuck for 44s!"
        self.assertFalse(markers.is_kernel_problem(markers.KVM_GUEST_CONSOLE + stall))
        self.assertTrue(markers.is_kernel_problem(stall))
        # A guest on vapicvm stalling may be vapicvm's doing: judged.
        self.assertTrue(markers.is_kernel_problem("# vapicvm| " + stall))
        self.assertTrue(markers.is_kernel_problem("# linux-2cpu| " + stall))

    def test_harmless_lines_are_not_problems(self):
        for line in HARMLESS:
            with self.subTest(line=line):
                self.assertFalse(markers.is_kernel_problem(line))


if __name__ == "__main__":
    unittest.main()
