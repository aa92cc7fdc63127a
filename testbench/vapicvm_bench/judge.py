# SPDX-License-Identifier: GPL-2.0
"""Judging one boot of a bench machine from its serial log.

Pure functions: the caller reads the files and prints the report; nothing
here touches the file system, the clock or the environment, so recorded
serial logs can be judged in unit tests exactly as a live run is.

The guest's /init (testbench/guest/init) frames each test binary's output
between "VAPICVM-BENCH: begin <test>" and "VAPICVM-BENCH: end <test> rc=N
..." lines and reports the module's load and unload and the end of the run
with further markers; markers.py defines them.
"""

import re
from dataclasses import dataclass, field

from . import markers, tap

# Lines of the serial log shown when a test or the whole guest hung.
HUNG_TEST_TAIL = 30
HUNG_GUEST_TAIL = 40
# Lines of the emulator's own output shown when the guest printed nothing.
NO_SERIAL_TAIL = 20

BEGIN = markers.BENCH + " begin "
END = markers.BENCH + " end "
_BOOT = markers.BENCH + " boot "
_DONE = markers.BENCH + " done"
_INSMOD_OK = markers.BENCH + " insmod ok"
_RMMOD_OK = markers.BENCH + " rmmod ok"
_BOOT_UPTIME = re.compile(r"uptime=([0-9.]+)")
_GUEST_SECONDS = re.compile(r" guest_seconds=([0-9.]+)")
# Tests named in the report's line of the slowest.
SLOWEST_SHOWN = 8


@dataclass
class Boot:
    """What the host measured about one boot, besides the serial log."""

    bochs_rc: object = "?"
    wall_seconds: object = "?"
    boot_wall_seconds: object = "?"
    bochs_output: str = ""
    timeout: object = "?"
    # {test: wall seconds between its markers}, when the host stamped them.
    test_walls: dict = field(default_factory=dict)


@dataclass
class Section:
    """One test binary's part of the serial log: its output lines and, if
    it finished, its "end" marker line (the last of lines)."""

    lines: list = field(default_factory=list)
    end: str = None

    def text(self):
        """The section as printed: the test's output and its end marker."""
        return "".join(line + "\n" for line in self.lines)


@dataclass
class Failure:
    """A failed check of the whole boot: its verdict, the lines that show
    it, and whether the summary repeats them (the kernel's complaints) or
    only the verdict (a hung guest's serial tail)."""

    verdict: str
    lines: list = field(default_factory=list)
    repeat: bool = False

    def details(self):
        """What the summary repeats."""
        return [self.verdict] + (self.lines if self.repeat else [])


@dataclass
class Report:
    """A judged boot: the text to print and the summary's result rows."""

    lines: list = field(default_factory=list)
    results: list = field(default_factory=list)

    def text(self):
        """The report as printed."""
        return "".join(line + "\n" for line in self.lines)


def serial_lines(raw):
    """The serial log's lines; the console's tty turns \\n into \\r\\n."""
    return raw.replace("\r", "").splitlines()


def split_sections(lines):
    """{test name: Section} from the begin/end markers, in log order.  A
    test that never ended runs to the next begin marker or the log's end."""
    sections = {}
    current = None
    for line in lines:
        if line.startswith(BEGIN):
            name = line[len(BEGIN):].split(" ")[0]
            current = sections[name] = Section()
        elif line.startswith(END):
            if current is not None:
                current.lines.append(line)
                current.end = line
            current = None
        elif current is not None:
            current.lines.append(line)
    return sections


def end_status(end_line):
    """The "rc=..." part of an end marker and whether it means success."""
    status = end_line.split(" rc=", 1)[1] if " rc=" in end_line else "?"
    return status, status.split(" ")[0] == "0"


def indent_tail(lines, count):
    """The last count lines, indented as TAP comments."""
    return ["#   " + line for line in lines[-count:]] if count else []


def first_value(lines, prefix):
    """The rest of the first line starting with prefix, or None."""
    for line in lines:
        if line.startswith(prefix):
            return line[len(prefix):]
    return None


def judge_test(name, test, section, lines):
    """The report lines and the Result of one test binary on machine
    name; section is None when the binary never started."""
    suite = f"{name}/{test}"
    out = [f"# {name}: {test}"]
    if section is None:
        out.append(f"not ok - {test} did not run")
        return out, tap.Result(suite, 0, 1, 0, out[-1:])
    out += section.lines
    passed, failed, skipped = tap.count(section.text())
    details = tap.failure_details(section.text())
    verdicts = []
    if section.end is None:
        verdicts.append(f"not ok - {test} did not finish (hang or crash); serial tail:")
        out.append(verdicts[-1])
        out += indent_tail(lines, HUNG_TEST_TAIL)
        failed += 1
    else:
        status, success = end_status(section.end)
        if not success and failed == 0:
            verdicts.append(f"not ok - {test} exited with rc={status}")
            out.append(verdicts[-1])
            failed = 1
    if passed + failed + skipped == 0:
        verdicts.append(f"not ok - {test} reported no results")
        out.append(verdicts[-1])
        failed = 1
    details = (details + verdicts)[: tap.MAX_DETAILS]
    return out, tap.Result(suite, passed, failed, skipped, details)


def machine_checks(name, lines, timeout):
    """The whole boot's checks, each failure as its report lines: the
    module loaded and unloaded, the guest finished, and the kernel reported
    no problem (every such line is printed)."""
    failures = []
    if not any(line.startswith(_INSMOD_OK) for line in lines):
        failures.append(Failure(f"not ok - {name}: vapicvm.ko did not load"))
    if not any(line.startswith(_DONE) for line in lines):
        verdict = f"the guest did not finish (timeout {timeout}s or hang); serial tail:"
        failures.append(Failure(f"not ok - {name}: {verdict}",
                                indent_tail(lines, HUNG_GUEST_TAIL)))
    if not any(line.startswith(_RMMOD_OK) for line in lines):
        failures.append(Failure(f"not ok - {name}: vapicvm did not unload (leaked reference?)"))
    problems = [line for line in lines if markers.is_kernel_problem(line)]
    if problems:
        failures.append(Failure(f"not ok - {name}: kernel reported a problem:",
                                ["#   " + line for line in problems], repeat=True))
    return failures


def test_seconds(sections):
    """[(test, guest seconds)] of the tests that ended, slowest first.
    Guest seconds pass quickly while the guest halts, so they rank the
    tests less well than the host's wall seconds do."""
    times = []
    for test, section in sections.items():
        match = _GUEST_SECONDS.search(section.end or "")
        if match:
            times.append((test, float(match.group(1))))
    return sorted(times, key=lambda item: -item[1])


def slowest_line(name, sections, test_walls):
    """The report's line naming the slowest tests by wall seconds (as the
    host stamped their markers), or by guest seconds without those; None
    when no test ended."""
    times, unit = sorted(test_walls.items(), key=lambda item: -item[1]), "wall s"
    if not times:
        times, unit = test_seconds(sections), "guest s"
    if not times:
        return None
    shown = ", ".join(f"{test} {seconds:.1f}" for test, seconds in times[:SLOWEST_SHOWN])
    total = sum(seconds for _, seconds in times)
    return f"# {name}: slowest tests ({unit}, of {total:.1f} in {len(times)} tests): {shown}"


def timing_line(name, lines, boot):
    """The report's last line: where the boot's wall and guest time went."""
    boot_line = first_value(lines, _BOOT) or ""
    match = _BOOT_UPTIME.search(boot_line)
    guest_boot = match.group(1) if match else "?"
    done = first_value(lines, _DONE + " uptime=") or ""
    return (f"# {name}: boot to /init {boot.boot_wall_seconds} s wall ({guest_boot} guest s);"
            f" whole run {boot.wall_seconds} s wall, {done} guest s")


def judge_machine(name, serial, tests, boot):
    """Judge one boot: name is the machine, serial the raw serial log,
    tests the test binaries that should have run (in order), boot the
    host's measurements.  Returns the Report."""
    lines = serial_lines(serial)
    report = Report()
    header = first_value(lines, _BOOT) or ""
    report.lines += ["", f"######## {name}: {header} (wall {boot.wall_seconds} s)"]
    if not lines:
        verdict = f"not ok - {name}: no serial output (bochs rc {boot.bochs_rc})"
        report.lines.append(verdict)
        report.lines += boot.bochs_output.splitlines()[-NO_SERIAL_TAIL:]
        report.results.append(tap.Result(f"{name}/boot", 0, 1, 0, [verdict]))
        return report
    failures = machine_checks(name, lines, boot.timeout)
    # Said before the tests' output: a module that did not load explains it.
    before = [f for f in failures if f.verdict.endswith("did not load")]
    for failure in before:
        report.lines += [failure.verdict] + failure.lines
    sections = split_sections(lines)
    for test in tests:
        out, result = judge_test(name, test, sections.get(test), lines)
        report.lines += out
        report.results.append(result)
    for failure in failures:
        if failure not in before:
            report.lines += [failure.verdict] + failure.lines
    details = [line for failure in failures for line in failure.details()]
    report.results.append(
        tap.Result(f"{name}/machine", 0 if failures else 1, len(failures), 0, details))
    slowest = slowest_line(name, sections, boot.test_walls)
    if slowest:
        report.lines.append(slowest)
    report.lines.append(timing_line(name, lines, boot))
    return report
