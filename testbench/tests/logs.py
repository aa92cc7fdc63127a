# SPDX-License-Identifier: GPL-2.0
"""Recorded serial logs (fixtures/) and the edits that turn a passing log
into each kind of failure the judge must catch.

The fixtures are real serial logs of bench machines, trimmed with
record_fixture.py.  A failure that a healthy module cannot be made to
produce on demand (a hang, a guest that died, a module that did not
unload, a KASAN report on a kernel without KASAN) is made by editing a
passing log the way that failure changes it; the planted run's log is
recorded as is.
"""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# The tests in each passing fixture, in the order /init ran them.
PASS_SKYLAKE_TESTS = ["cpu_hotplug_test", "exit_cost_test", "pio_test"]
PASS_CNL_TESTS = ["smp_test", "pio_test"]
PLANTED_TESTS = ["device_test", "planted_fail_test"]
# vmm-guests-skylake-1.serial holds the test vmm_guests only.


def load(name):
    """A fixture's text, as the serial port wrote it (\\r\\n line ends
    restored: the judge must cope with the console's tty)."""
    return (FIXTURES / name).read_text().replace("\n", "\r\n")


def lines_of(text):
    """The lines of a log, line ends dropped."""
    return text.replace("\r", "").splitlines()


def join(lines):
    """Lines back into a log's text."""
    return "".join(line + "\n" for line in lines)


def cut_after(text, needle):
    """The log up to and including the first line containing needle: the
    guest stopped printing there (hang, crash, timeout)."""
    lines = lines_of(text)
    index = next(i for i, line in enumerate(lines) if needle in line)
    return join(lines[: index + 1])


def replace_line(text, prefix, new):
    """The log with the line starting with prefix replaced by new (or
    dropped if new is None)."""
    out = []
    for line in lines_of(text):
        if line.startswith(prefix):
            if new is not None:
                out.append(new)
        else:
            out.append(line)
    return join(out)


def drop_section(text, test):
    """The log without test's begin..end section: the test never ran."""
    out, inside = [], False
    for line in lines_of(text):
        if line.startswith(f"VAPICVM-BENCH: begin {test}"):
            inside = True
        if not inside:
            out.append(line)
        if line.startswith(f"VAPICVM-BENCH: end {test} "):
            inside = False
    return join(out)


def insert_before(text, prefix, new_lines):
    """The log with new_lines inserted before the first line starting
    with prefix."""
    out = []
    for line in lines_of(text):
        if line.startswith(prefix) and new_lines is not None:
            out += new_lines
            new_lines = None
        out.append(line)
    return join(out)


def with_dmesg(text, kernel_lines):
    """The log as /init prints kernel_lines found in dmesg at the end."""
    return insert_before(text, "VAPICVM-BENCH: done",
                         ["VAPICVM-DMESG: " + line for line in kernel_lines])


# The start of a KASAN report as the kernel prints it (console and dmesg).
KASAN_REPORT = [
    "[    5.123456] ==================================================================",
    "[    5.123460] BUG: KASAN: slab-out-of-bounds in vapicvm_lapic_write+0x1f/0x80 [vapicvm]",
    "[    5.123466] Write of size 4 at addr ffff888004a1f400 by task apic_regs_test/123",
]
