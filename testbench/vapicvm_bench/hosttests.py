# SPDX-License-Identifier: GPL-2.0
"""The host-side suites: programs run on the build machine whose TAP output
is counted like the guest's ("host/<name>" rows): the ABI check, the
userspace unit tests, the bench's own unit tests, the module DKMS built
and signed, the Debian packages (built, installed, used, purged), and after
a check the bench's self-check (a planted run that must fail).
"""

import os
import subprocess
import sys
from dataclasses import dataclass

from . import boot, build, kernels, tap
from .build import dkms_dir, selftest_vars, up_to_date, userspace_vars


@dataclass
class SuiteRun:
    """One host-side suite's run: its Result and what it printed."""

    name: str
    result: tap.Result
    output: str
    returncode: int

    def print(self):
        """Print "# host: <name>" and the suite's output."""
        print(f"# host: {self.name}")
        print(self.output, end="", flush=True)
        if self.returncode != 0:
            print(f"# host: {self.name} exited with status {self.returncode}", flush=True)


def execute_suite(bench_dir, name, argv, cwd=None, env=None):
    """Run one suite, its output kept in <bench>/host-<name>.tap; its
    SuiteRun, printed by the caller."""
    proc = subprocess.run([str(arg) for arg in argv], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace", check=False,
                          env=env)
    (bench_dir / f"host-{name}.tap").write_text(proc.stdout)
    return SuiteRun(name, tap.result_of_program(f"host/{name}", proc.stdout, proc.returncode),
                    proc.stdout, proc.returncode)


def run_suite(bench_dir, name, argv, cwd=None, env=None):
    """Run one suite and print its output; its Result."""
    run = execute_suite(bench_dir, name, argv, cwd, env)
    run.print()
    return run.result


def unit_test_programs(settings, host, built):
    """The userspace's unit-test executables (all of them, or after a
    failed build those that are up to date)."""
    userspace = settings.root / "userspace"
    if not (userspace / "Makefile").exists():
        return []
    variables = userspace_vars(settings, host)
    listed = subprocess.run(["make", "-s", "-C", str(userspace), *variables, "list-unit-tests"],
                            stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    if built.ok("userspace"):
        return listed
    return [test for test in listed if up_to_date(userspace, variables, test)]


def suites(settings, host, built):
    """(name, argv, cwd) of every host-side suite, in the order they run."""
    found = []
    abi_check = settings.build / "selftests" / "abi_check"
    if built.ok("selftests") or up_to_date(settings.root / "selftests",
                                           selftest_vars(settings), abi_check):
        found.append(("abi_check", [abi_check], None))
    for test in unit_test_programs(settings, host, built):
        found.append((test.rsplit("/", 1)[-1], [test], None))
    found.append(("bench-unit", [sys.executable, "-m", "vapicvm_bench.unittap"],
                  settings.root / "testbench"))
    if built.ok("userspace") and built.ok(build.module_part(host.kernels[kernels.DEBIAN])):
        found.append(("install-tree", [settings.root / "testbench" / "install-tree-test.sh",
                                       host.kdir, settings.build], None))
    testbench = settings.root / "testbench"
    found.append(("dkms", [testbench / "host-dkms-test.sh", dkms_dir(settings), host.release],
                  None))
    if (settings.root / "debian" / "control").exists():
        found.append(("debian-packages", [testbench / "host-packages-test.sh",
                                          settings.build / "debian-packages",
                                          dkms_dir(settings) / "signing"], None))
    return found


def run_all(settings, host, built):
    """Run every host-side suite; their Results."""
    return [run_suite(settings.bench, name, argv, cwd)
            for name, argv, cwd in suites(settings, host, built)]


def self_check(settings):
    """The bench's self-check (testbench/selftest.sh) as a host suite; its
    SuiteRun, printed by the caller (it runs beside the last boots).  Its
    planted run boots a debug-kernel machine too when this run had one
    (SELFTEST_DEBUG=1): a run without one never builds that kernel."""
    debug = any(m.flavour == kernels.DEBUG for m in boot.parse_machines(settings.configs))
    env = dict(os.environ, SELFTEST_DEBUG="1" if debug else "0")
    return execute_suite(settings.bench, "bench-selftest",
                         [settings.root / "testbench" / "selftest.sh"], env=env)
