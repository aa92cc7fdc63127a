#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Make a unit-test fixture from a real bench machine's serial log.

    record_fixture.py <bench>/<machine>/serial.out out.serial [test ...]

Keeps every line outside the test sections (kernel messages, the
machine's markers) and the whole sections of the named tests, so that a
fixture stays a few KB and is still what the guest printed, line for line.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from vapicvm_bench import judge, markers  # noqa: E402


def trim(lines, keep):
    """The lines outside test sections and inside the kept ones."""
    begin, end = markers.BENCH + " begin ", markers.BENCH + " end "
    out, current = [], None
    for line in lines:
        if line.startswith(begin):
            current = line[len(begin):].split(" ")[0]
        if current is None or current in keep:
            out.append(line)
        if line.startswith(end):
            current = None
    return out


def main(argv):
    """Read the raw serial log, write the trimmed fixture."""
    if len(argv) < 3:
        sys.exit(__doc__)
    with open(argv[1], "rb") as raw:
        lines = judge.serial_lines(raw.read().decode(errors="replace"))
    with open(argv[2], "w") as out:
        out.write("".join(line + "\n" for line in trim(lines, set(argv[3:]))))


if __name__ == "__main__":
    main(sys.argv)
