# SPDX-License-Identifier: GPL-2.0
"""The bench's settings: the mode from the command line, everything else
from environment variables (make passes them through; CI sets none).

ENVIRONMENT is the one list of the variables the bench reads: --help
prints it, and Documentation/testbench.rst describes the same list.
"""

import os
from dataclasses import dataclass
from pathlib import Path

ENVIRONMENT = (
    ("BUILD", "build directory (default: <source>/build)"),
    ("BENCH_DIR", "where the bench writes its files and logs (default: $BUILD/bench)"),
    ("CONFIGS", "bench machines to boot, space-separated names (below) or name:model:cpus "
                "triples, or name:model:cpus:flavour with the kernel flavour debian, debug or "
                "trixie (default: the five check machines below for check, skylake-2 for run; "
                "KERNELS chooses others)"),
    ("KERNELS", "without CONFIGS: kernel flavours (debian, trixie, debug), space-separated, "
                "whose machines to boot: for check each CPU model with each of them (debug: "
                "skylake-2 only), for run skylake-2 with each (default: the machines above)"),
    ("JOBS", "emulators running at once (default: the number of CPUs plus one, so that the "
             "longest boot never waits alone at the end)"),
    ("BOOT_TIMEOUT", "seconds a boot may take before the emulator is killed (default: 3000)"),
    ("TESTS", "space-separated selftest binaries to run (default: all of them, and the "
              "vmm_guests test, which runs only without TESTS)"),
    ("DEBUG_TESTS", "check: what the debug-kernel machine runs when TESTS is not set: \"all\" "
                    "for the whole suite (make check-debug), or space-separated tests "
                    "(default: the lifetime, concurrency and hostile-input tests of "
                    "main.DEBUG_SUITE)"),
    ("KEEP_GOING", "1: a part that fails to build (module, DKMS, selftests, userspace) fails the "
                   "run at the end instead of stopping it; what did build still runs"),
    ("SKIP_HOST_TESTS", "1: run no host-side tests (ABI check, userspace unit tests, the "
                        "bench's own unit tests, the DKMS module, the Debian packages)"),
    ("SKIP_BENCH_SELFTEST", "1: skip the bench's self-check (a planted run) after check"),
    ("PLANT", "1: plant a failing test and a module that WARNs and prints a KASAN-like "
              "report; such a run must fail (testbench/selftest.sh sets it)"),
    ("EXTRA_CMDLINE", "appended to the emulated machine's kernel command line"),
)


def cpus():
    """The CPUs this process may run on (what nproc says)."""
    return len(os.sched_getaffinity(0))


def default_jobs():
    """Emulators at once by default: one more than the CPUs.  Each is
    single-threaded and its guest's clock counts instructions, so sharing
    a CPU only stretches wall time; with one per CPU the longest boot (the
    debug machine's) ran alone at the end while a CPU idled."""
    return cpus() + 1


def flag(name):
    """A yes/no variable: set, non-empty and not "0" means yes."""
    return os.environ.get(name, "") not in ("", "0")


@dataclass
class Settings:
    """Everything a run depends on, resolved once at the start."""

    mode: str
    root: Path
    build: Path
    bench: Path
    configs: str
    kernels: str
    jobs: int
    boot_timeout: int
    tests: list
    debug_tests: list
    keep_going: bool
    skip_host_tests: bool
    skip_bench_selftest: bool
    plant: bool
    extra_cmdline: str

    @classmethod
    def from_environment(cls, mode, root, default_configs):
        """Settings for mode from the environment, with the defaults."""
        env = os.environ
        build = Path(env.get("BUILD") or root / "build").absolute()
        tests = env.get("TESTS", "").split()
        return cls(
            mode=mode,
            root=root,
            build=build,
            bench=Path(env.get("BENCH_DIR") or build / "bench").absolute(),
            configs=env.get("CONFIGS") or default_configs,
            kernels=env.get("KERNELS", ""),
            jobs=int(env.get("JOBS") or default_jobs()),
            boot_timeout=int(env.get("BOOT_TIMEOUT") or 3000),
            tests=tests or None,
            debug_tests=env.get("DEBUG_TESTS", "").split() or None,
            keep_going=flag("KEEP_GOING"),
            skip_host_tests=flag("SKIP_HOST_TESTS"),
            skip_bench_selftest=flag("SKIP_BENCH_SELFTEST"),
            plant=flag("PLANT"),
            extra_cmdline=env.get("EXTRA_CMDLINE", ""),
        )
