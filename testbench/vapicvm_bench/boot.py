# SPDX-License-Identifier: GPL-2.0
"""Booting the bench machines in the emulator, a few at a time.

Each boot gets a directory <bench>/<machine>/ with its bochsrc, the raw
serial log (serial.out), the emulator's log and output, and what the host
measured: wall_seconds, boot_wall_seconds (until /init's first marker),
test_wall_seconds (each test's, from when its begin and end markers
appeared) and bochs_rc (124 when BOOT_TIMEOUT killed it).
"""

import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import judge, kernels, markers
from .judge import Boot

# Bochs is single-threaded; a boot that outlives BOOT_TIMEOUT is killed
# (SIGTERM, then SIGKILL after this many seconds), like timeout(1) does.
KILL_AFTER = 10
TIMEOUT_RC = 124
# How often the host looks for /init's first marker, in seconds.
POLL = 0.2
# How often it reads the new part of the serial log for test markers after.
MARKER_POLL = 1.0
_TEST_MARKERS = (judge.BEGIN, judge.END)


@dataclass(frozen=True)
class Machine:
    """A bench machine: its name, Bochs CPU model, CPU count and kernel
    flavour (kernels.py: which kernel it boots)."""

    name: str
    model: str
    cpus: int
    flavour: str = kernels.DEBIAN


# skylake_x has APIC-register virtualization, virtual-interrupt delivery
# and posted interrupts; cnl has the TPR shadow, APIC-access and x2APIC
# virtualization only, so it exercises the fallback tiers on a real
# (emulated) CPU.  skylake-2-debug boots the debug kernel (KASAN, lockdep,
# UBSAN, KFENCE, ...), the machines named *-6.12 Debian trixie's kernel.
MODELS = (
    ("skylake-1", "corei7_skylake_x", 1),
    ("skylake-2", "corei7_skylake_x", 2),
    ("cnl-1", "corei3_cnl", 1),
    ("cnl-2", "corei3_cnl", 2),
)
# The suffix of a machine's name that tells its kernel flavour.
SUFFIXES = {kernels.DEBIAN: "", kernels.DEBUG: "-debug", kernels.TRIXIE: "-6.12"}
# Every machine the bench knows: each model with each kernel but the debug
# one, which boots on skylake-2 only (its boot is the longest).
MATRIX = tuple(Machine(name + SUFFIXES[flavour], model, cpus, flavour)
               for flavour in (kernels.DEBIAN, kernels.TRIXIE)
               for name, model, cpus in MODELS) + (
    Machine("skylake-2-debug", "corei7_skylake_x", 2, kernels.DEBUG),)
# What check boots by default, four machines as CI's time allows: both
# CPU models with one CPU and with two, skylake-2 with trixie's 6.12, the
# others with Debian 12's 6.1, which skylake-2 also boots as the debug
# kernel (the same 6.1, with KASAN, lockdep ...).  cnl-1 is left to make
# check-matrix: skylake-1 runs every tier cnl-1 has (the tests choose each
# tier on Skylake-X too) on one CPU, cnl-2 the Cannon Lake CPU itself.
# The plain skylake-2 with 6.1 is make run's machine and in make
# check-matrix, which boots every model with both kernels.
DEFAULT_CHECK = ("skylake-1", "skylake-2-6.12", "cnl-2", "skylake-2-debug")
MACHINES = tuple(next(m for m in MATRIX if m.name == name) for name in DEFAULT_CHECK)
RUN_MACHINE = "skylake-2"


def machines_for_kernels(spec, mode="check"):
    """The machine names a KERNELS value selects, as a CONFIGS value: for
    check every machine of MATRIX with one of those flavours, for run each
    flavour's skylake-2.  Raises ValueError for an unknown flavour."""
    flavours = [kernels.flavour(word).name for word in spec.split()]
    if not flavours:
        raise ValueError("KERNELS names no kernel flavour")
    if mode == "run":
        return " ".join(RUN_MACHINE + SUFFIXES[f] for f in flavours)
    return " ".join(m.name for f in flavours for m in MATRIX if m.flavour == f)


def parse_machines(spec):
    """Machines from a CONFIGS value: names from MATRIX, or explicit
    name:model:cpus triples, or name:model:cpus:flavour.  Raises ValueError
    for an unknown name or flavour."""
    known = {machine.name: machine for machine in MATRIX}
    machines = []
    for word in spec.split():
        parts = word.split(":")
        if len(parts) in (3, 4):
            flavour = kernels.flavour(parts[3] if len(parts) == 4 else kernels.DEBIAN)
            machines.append(Machine(parts[0], parts[1], int(parts[2]), flavour.name))
        elif word in known:
            machines.append(known[word])
        else:
            raise ValueError(f"unknown config {word} (known: {' '.join(known)})")
    return machines


def bochsrc(machine, iso, out_dir):
    """The emulator's configuration for one boot: no display, the ISO as
    CD-ROM, the serial port to a file, an unsynchronised clock (fast and
    deterministic: the TSC counts instructions)."""
    return f"""\
plugin_ctrl: speaker=0, parallel=0
config_interface: textconfig
display_library: nogui
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model={machine.model}, count={machine.cpus}, ips=200000000, reset_on_triple_fault=0
memory: guest=1024, host=1024
pci: enabled=1, chipset=i440fx
clock: sync=none, time0=946684800
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path="{iso}", status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev={out_dir}/serial.out
log: {out_dir}/bochs.log
panic: action=fatal
error: action=ignore
info: action=ignore
debug: action=ignore
"""


def serial_has(path, needle):
    """True if the serial log at path holds needle yet."""
    try:
        return needle in path.read_bytes()
    except FileNotFoundError:
        return False


def wait_for_init(proc, serial, start, deadline):
    """Wait until /init's first marker or the emulator's end; returns the
    wall seconds to that marker, or None if it never came."""
    needle = f"{markers.BENCH} boot".encode()
    while time.monotonic() < deadline:
        # The log first: the emulator may have written it and exited.
        if serial_has(serial, needle):
            return time.monotonic() - start
        if proc.poll() is not None:
            return None
        time.sleep(POLL)
    return None


class MarkerClock:
    """When each test's begin and end markers reached the serial log, in
    wall seconds from the boot's start: the log is read as it grows, a
    complete line at a time."""

    def __init__(self, serial, start):
        self.serial = serial
        self.start = start
        self.offset = 0
        self.partial = b""
        self.stamps = []

    def read(self):
        """Stamp the markers among the lines written since the last read."""
        try:
            with open(self.serial, "rb") as log_file:
                log_file.seek(self.offset)
                data = log_file.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        now = time.monotonic() - self.start
        for raw in lines:
            line = raw.replace(b"\r", b"").decode(errors="replace")
            if line.startswith(_TEST_MARKERS):
                self.stamps.append((now, line))

    def test_seconds(self):
        """{test: wall seconds from its begin marker to its end marker}."""
        begun, walls = {}, {}
        for stamp, line in self.stamps:
            kind, name = line.split(" ")[1:3]
            if kind == "begin":
                begun[name] = stamp
            elif name in begun:
                walls[name] = stamp - begun[name]
        return walls


def wait_or_kill(proc, deadline, clock):
    """The emulator's exit status, stamping test markers while it runs;
    TIMEOUT_RC if it had to be killed."""
    while time.monotonic() < deadline:
        clock.read()
        rc = proc.poll()
        if rc is not None:
            clock.read()
            return rc
        time.sleep(MARKER_POLL)
    proc.terminate()
    try:
        proc.wait(timeout=KILL_AFTER)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    clock.read()
    return TIMEOUT_RC


def seconds(value):
    """A measured time as the report prints it."""
    return "?" if value is None else f"{value:.1f}"


def boot(machine, iso, bochs, out_dir, timeout):
    """Boot machine from iso until it powers off or timeout seconds pass;
    the results stay in out_dir (emptied first).  Returns a judge.Boot
    without the emulator output, which the caller reads if needed."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    (out_dir / "bochsrc").write_text(bochsrc(machine, iso, out_dir))
    start = time.monotonic()
    deadline = start + timeout
    with open(out_dir / "bochs.stdout", "wb") as output:
        proc = subprocess.Popen([str(bochs), "-q", "-f", str(out_dir / "bochsrc")],
                                stdin=subprocess.DEVNULL, stdout=output,
                                stderr=subprocess.STDOUT)
        boot_wall = wait_for_init(proc, out_dir / "serial.out", start, deadline)
        clock = MarkerClock(out_dir / "serial.out", start)
        rc = wait_or_kill(proc, deadline, clock)
    wall = time.monotonic() - start
    (out_dir / "wall_seconds").write_text(seconds(wall) + "\n")
    if boot_wall is not None:
        (out_dir / "boot_wall_seconds").write_text(seconds(boot_wall) + "\n")
    (out_dir / "bochs_rc").write_text(f"{rc}\n")
    test_walls = clock.test_seconds()
    (out_dir / "test_wall_seconds").write_text(
        "".join(f"{test} {seconds(wall)}\n" for test, wall in test_walls.items()))
    return Boot(bochs_rc=rc, wall_seconds=seconds(wall), boot_wall_seconds=seconds(boot_wall),
                timeout=timeout, test_walls=test_walls)


# Longest first, so that the last boots to start are short ones and the
# runs end together: the debug kernel's boot is the longest, then, as
# measured, two CPUs' before one's (cnl-2 491 s, skylake-1 462 s in CI),
# and Skylake's (more of the suite runs on its tiers) before Cannon Lake's.
FLAVOUR_COST = {kernels.DEBUG: 0, kernels.TRIXIE: 1, kernels.DEBIAN: 2}


def start_order(machines):
    """The order boots start in: the longest expected first."""
    return sorted(machines, key=lambda m: (FLAVOUR_COST.get(m.flavour, 0), -m.cpus,
                                           not m.model.startswith("corei7_skylake")))


def submit_all(pool, machines, isos, bochs, bench_dir, timeout):
    """Queue a boot of every machine from its ISO (isos: {name: path}) on
    pool, in start order; {name: Future of its Boot}."""
    return {m.name: pool.submit(boot, m, isos[m.name], bochs, Path(bench_dir) / m.name, timeout)
            for m in start_order(machines)}


def boot_all(machines, isos, bochs, bench_dir, timeout, jobs):
    """Boot every machine from its ISO (isos: {name: path}), jobs at a
    time; {name: Boot} in machine order."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = submit_all(pool, machines, isos, bochs, bench_dir, timeout)
        return {m.name: futures[m.name].result() for m in machines}
