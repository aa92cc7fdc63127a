# SPDX-License-Identifier: GPL-2.0
"""The bench's driver: set up, build, run the host-side suites, build the
boot medium, boot the bench machines, judge each boot, print the summary.

    bench.py check    every test on every bench machine
    bench.py run      the main job (a guest through vapicvm) on skylake-2

KERNELS (without CONFIGS) chooses the machines by kernel flavour.

Exit status: 0 if nothing failed, 1 otherwise (2 for a usage error).
"""

import argparse
import os
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import boot, build, hosttests, image, judge, kernels, summary
from .config import ENVIRONMENT, Settings
from .log import BenchError, log, step

ROOT = Path(__file__).resolve().parents[2]
GUEST = ROOT / "testbench" / "guest"
# The test check mode adds for the main job's guests.
VMM_GUESTS = "vmm_guests"
VMM_GUESTS_SCRIPT = "#!/bin/sh\nexec sh /lib/vapicvm-bench/main-job.sh check\n"
# The test check mode adds for vapicvm installed for real (make install's
# tree over the machine's /) and used by an unprivileged user.
INSTALL_TEST = "install_test"
INSTALL_TEST_SCRIPT = GUEST / "install-test.sh"
# Tests that are scripts of the bench, not selftest binaries.
BENCH_TESTS = (VMM_GUESTS, INSTALL_TEST)
# The machine that boots the vapicvm.ko DKMS built and signed (build.py's
# part "dkms") instead of the one built in the source tree, with its own
# initramfs.
DKMS_MACHINE = "skylake-1"
DKMS = "dkms"


def parse_args(argv):
    """The mode, and --help listing every environment variable."""
    lines = [textwrap.fill(text, 79, initial_indent=f"  {name:20} ", subsequent_indent=" " * 23)
             for name, text in ENVIRONMENT]
    machines = ", ".join(f"{m.name} ({m.model}, {m.cpus} CPU, {m.flavour} kernel)"
                         for m in boot.MACHINES)
    parser = argparse.ArgumentParser(
        prog="bench.sh", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The emulated test bench: build vapicvm, boot emulated Intel machines, "
                    "run the tests in them and judge the serial logs.",
        epilog="environment:\n" + "\n".join(lines) + "\n\nbench machines: " + machines
               + "\n\nThe output ends with \"N passed, N failed, N skipped\"; the exit "
                 "status is non-zero on any failure.")
    parser.add_argument("mode", nargs="?", default="check", choices=("check", "run"),
                        help="check: every test on every machine (default); "
                             "run: the main job on skylake-2")
    return parser.parse_args(argv)


# What the debug-kernel machine runs in check when neither TESTS nor
# DEBUG_TESTS says otherwise: the tests whose paths KASAN, lockdep and the
# debug objects judge best (creation and teardown, fds and references,
# memory slots, cross-vCPU work, timers and IPIs, directed yields, hostile
# guests and callers, module reloads), and vapicvm's mitigations, which only this
# machine boots with; not the conformance, cost and tooling tests, which
# run the same paths on the other machines. The whole suite there
# outgrew the boot timeout; make check-debug runs all of it.
# apic_ipi_test, which sends every kind of IPI on each of the eight
# tiers, took 365 s there (the longest boot of CI, whose end it set):
# its paths run there in smp_test, cpu_hotplug_test, the fuzzers and
# vmm_guests' SMP Linux guests, and on every tier on the other machines.
DEBUG_SUITE = (
    "apic_timer_test", "cpu_hotplug_test", "device_test", "dirty_log_test",
    "errno_test", "fd_lifetime_test", "guest_exception_test", "guest_fuzz_test",
    "ioctl_fuzz_test", "ioeventfd_test", "irqfd_test", "isolation_test", "kvm_coexist_test",
    "memslot_test", "mitigations_test", "module_params_test", "pause_loop_test", "signal_test",
    "smp_test", "smp_tlb_flush_test", "vcpu_events_test", "vcpu_migration_test",
    "vcpu_state_test", "vm_lifecycle_test", VMM_GUESTS,
)
ALL = "all"
# And with a smaller budget for the fuzzers there: guest_fuzz_test's whole
# run (8 VMs per tier) took about 36 minutes of the debug machine's boot,
# 2 VMs per tier still run every tier and every operation.
DEBUG_ENVIRONMENT = {"FUZZ_STEPS": "2"}


def debug_selection(settings, kernel, available):
    """The names of the tests kernel's machines run when that is not every
    test: the debug kernel's in check (DEBUG_TESTS or DEBUG_SUITE) unless
    TESTS is set or DEBUG_TESTS is "all"; None for every test."""
    if settings.mode != "check" or kernel.name != kernels.DEBUG or settings.tests:
        return None
    if not settings.debug_tests:
        return set(DEBUG_SUITE)
    if settings.debug_tests == [ALL]:
        return None
    unknown = [name for name in settings.debug_tests
               if name not in available and name not in BENCH_TESTS]
    if unknown:
        raise BenchError("DEBUG_TESTS names tests that do not exist or did not build: "
                         + " ".join(unknown))
    return set(settings.debug_tests)


def selftests_to_run(settings, built):
    """(name, path) of the selftest binaries the guest runs: TESTS, or
    every *_test built (only the up-to-date ones after a failed build)."""
    directory = settings.build / "selftests"
    names = [n for n in settings.tests if n not in BENCH_TESTS] if settings.tests \
        else sorted(p.name for p in directory.glob("*_test"))
    if not built.ok("selftests"):
        stale = [n for n in names if not build.up_to_date(
            settings.root / "selftests", build.selftest_vars(settings), directory / n)]
        if stale:
            log("not running what did not build: " + " ".join(stale))
        names = [n for n in names if n not in stale]
    return [(name, directory / name) for name in names]


def planted(settings, kernel):
    """The self-check's planted failures: a failing test binary and a
    module (built for kernel) that WARNs and prints a KASAN-like report."""
    plant = settings.bench / f"plant-{kernel.name}"
    shutil.rmtree(plant, ignore_errors=True)
    shutil.copytree(ROOT / "testbench" / "plant", plant)
    with open(settings.bench / "build.log", "a") as log_file:
        subprocess.run(["make", "-C", str(kernel.kdir), f"M={plant}", "modules"],
                       stdout=log_file, stderr=log_file, check=True)
    test = plant / "planted_fail_test"
    subprocess.run(["gcc", "-O2", "-Wall", "-static",
                    f"-I{settings.build / 'selftests' / 'include'}", "-o", str(test),
                    str(plant / "planted_fail_test.c")], check=True)
    return plant / "planted_warn.ko", ("planted_fail_test", test)


def vmm_guests_test(settings, built):
    """The main job's guests as the test vmm_guests, when the full suite
    runs and the userspace tools built."""
    userspace_bin = settings.build / "userspace" / "bin"
    if settings.tests or not built.ok("userspace") or not userspace_bin.is_dir() \
            or not (GUEST / "main-job.sh").exists():
        return None
    script = settings.bench / VMM_GUESTS
    script.write_text(VMM_GUESTS_SCRIPT)
    script.chmod(0o755)
    return VMM_GUESTS, script


def module_release(module):
    """The kernel release a module was built for, from its vermagic."""
    vermagic = subprocess.run(["modinfo", "-F", "vermagic", str(module)], stdout=subprocess.PIPE,
                              text=True, check=True).stdout.split()
    if not vermagic:
        raise BenchError(f"{module} has no vermagic")
    return vermagic[0]


def install_test(settings, kernel, built, module=None, variant=None):
    """The test install_test and its tree: make install's (DESTDIR, PREFIX
    /usr) for the userspace and the udev rule, with kernel's vapicvm.ko (or
    module, a variant's) where install-module puts it; None when the test
    is not asked for or the userspace did not build."""
    wanted = settings.mode == "check" and (not settings.tests or INSTALL_TEST in settings.tests)
    if not wanted or not built.ok("userspace"):
        return None, None
    module = module or kernel.module
    root = settings.bench / f"install-root-{variant or kernel.name}"
    shutil.rmtree(root, ignore_errors=True)
    with step(f"make install into {root.name}"), \
            open(settings.bench / "build.log", "a") as log_file:
        subprocess.run(["make", "-s", "-C", str(settings.root), f"BUILD={settings.build}",
                        f"DESTDIR={root}", "PREFIX=/usr", "install-udev", "install-userspace"],
                       stdout=log_file, stderr=log_file, check=True)
        modules = root / "lib" / "modules" / module_release(module) / "updates"
        modules.mkdir(parents=True)
        shutil.copy2(module, modules / "vapicvm.ko")
    return (INSTALL_TEST, INSTALL_TEST_SCRIPT), root


def optional(path):
    """path if it exists, else None."""
    return path if path.exists() else None


def gdb_for_main_job(settings, vmm_guests):
    """Debian's gdb (testbench/fetch-gdb.sh) when the main job runs: its
    --gdb test drives vapicvm-run with it (and fails without it)."""
    if settings.mode != "run" and not vmm_guests:
        return None
    try:
        return Path(build.script(settings, "fetch-gdb.sh"))
    except BenchError as error:
        log(f"no gdb for the main job's --gdb test: {error}")
        return None


def initramfs_contents(settings, kernel, built, module=None, variant=None):
    """Everything the guest needs for this mode on kernel's machines
    (module: another vapicvm.ko than the kernel's, for a variant)."""
    tests = selftests_to_run(settings, built)
    subset = debug_selection(settings, kernel, [name for name, _ in tests])
    if subset is not None:
        chosen = [(name, path) for name, path in tests if name in subset]
        log(f"{kernel.name} kernel: {len(chosen)} of {len(tests)} selftests "
            "(DEBUG_TESTS=all, or make check-debug, for every one)")
        tests = chosen
    extra_modules = []
    # The planted failures build on the host, for a kernel whose tree is
    # there (Debian's, the debug kernel), not for a chroot flavour's.
    if settings.plant and kernel.chroot is None:
        planted_module, planted_test = planted(settings, kernel)
        extra_modules.append(planted_module)
        tests.append(planted_test)
    vmm_guests = vmm_guests_test(settings, built)
    if subset is not None and VMM_GUESTS not in subset:
        vmm_guests = None
    if vmm_guests:
        tests.append(vmm_guests)
    installed, install_root = (None, None) if subset is not None and INSTALL_TEST not in subset \
        else install_test(settings, kernel, built, module, variant)
    if installed:
        tests.append(installed)
    return image.Contents(
        module=module or kernel.module,
        kvm_modules=kernel.kvm_modules(),
        tests=tests, extra_modules=extra_modules,
        main_job=optional(GUEST / "main-job.sh"),
        userspace_bin=optional(settings.build / "userspace" / "bin"),
        payload=optional(settings.build / "guest-payload"),
        gdb=gdb_for_main_job(settings, vmm_guests),
        install_root=install_root,
        environment=dict(DEBUG_ENVIRONMENT) if subset is not None else {})


def medium_name(kernel, name, variant=None):
    """A boot-medium file's name: Debian's kernel's as before, another
    flavour's (or variant's, such as dkms) with its name added."""
    suffix = variant or (None if kernel.name == kernels.DEBIAN else kernel.name)
    return f"{name}-{suffix}" if suffix else name


def boot_medium(settings, kernel, built, module=None, variant=None):
    """Fast-boot kernel, initramfs and ISO for kernel's machines (with
    another vapicvm.ko, module, for a variant); the ISO's path and the tests
    the judge expects."""
    bench, mode = settings.bench, settings.mode
    with step(f"boot image ({kernel.name} kernel)"):
        vmlinuz = image.build_fastboot(ROOT, bench / medium_name(kernel, "fastboot"),
                                       kernel.vmlinuz, sys.stderr)
    what = f"{kernel.name} kernel" + (f", {variant} vapicvm.ko" if variant else "")
    with step(f"initramfs and ISO ({mode}, {what})"):
        contents = initramfs_contents(settings, kernel, built, module, variant)
        stem = medium_name(kernel, mode, variant)
        initrd, iso = bench / f"initrd-{stem}.img", bench / f"boot-{stem}.iso"
        image.make_initramfs(bench / f"initramfs-{stem}", initrd, GUEST / "init", contents)
        cmdline = " ".join(w for w in (kernel.flavour.cmdline, settings.extra_cmdline) if w)
        image.make_iso(iso, bench / f"iso-{stem}", vmlinuz, initrd, mode, cmdline)
    expected = ["main-job"] if mode == "run" else [name for name, _ in contents.tests]
    return iso, expected


def judge_boot(settings, machine, measured, expected):
    """Judge one machine's boot from its files; print the report; keep the
    cleaned serial log and each test's TAP beside them."""
    directory = settings.bench / machine.name
    raw = directory / "serial.out"
    # Bytes, not text mode: its newline translation would turn the nested
    # guest's "\r\r\n" into two lines.
    serial = raw.read_bytes().decode(errors="replace") if raw.exists() else ""
    (directory / "serial.log").write_text(serial.replace("\r", ""))
    stdout = directory / "bochs.stdout"
    measured.bochs_output = stdout.read_text(errors="replace") if stdout.exists() else ""
    for name, section in judge.split_sections(judge.serial_lines(serial)).items():
        (directory / f"{name}.tap").write_text(section.text())
    report = judge.judge_machine(machine.name, serial, expected, measured)
    print(report.text(), end="", flush=True)
    return report.results


def medium_key(settings, machine, built):
    """Which boot medium machine boots: its flavour's, or for DKMS_MACHINE
    on Debian's kernel the one with the vapicvm.ko DKMS built (when it
    did)."""
    if machine.name != DKMS_MACHINE or machine.flavour != kernels.DEBIAN:
        return machine.flavour
    module = build.dkms_module(settings)
    if not built.ok(DKMS) or not module.exists():
        log(f"{machine.name}: boots the vapicvm.ko built in the source tree: "
            "the DKMS build failed")
        return machine.flavour
    log(f"{machine.name}: boots the vapicvm.ko DKMS built and signed ({module}), "
        "not the one built in the source tree")
    return DKMS


def boot_media(settings, host, built, machines):
    """The boot medium of each machine ({name: (iso, expected tests)}):
    each kernel flavour has its own, and DKMS_MACHINE its own with DKMS's
    module."""
    keys = {m.name: medium_key(settings, m, built) for m in machines}
    media = {}
    for machine in machines:
        key = keys[machine.name]
        if key in media:
            continue
        if key == DKMS:
            media[key] = boot_medium(settings, host.kernels[kernels.DEBIAN], built,
                                     build.dkms_module(settings), DKMS)
        else:
            media[key] = boot_medium(settings, host.kernels[key], built)
    return {m.name: media[keys[m.name]] for m in machines}


def self_check_wanted(settings):
    """True if this run ends with the bench's self-check."""
    return settings.mode == "check" and not settings.plant and not settings.skip_bench_selftest


def boot_and_judge(settings, host, built):
    """Boot every configured machine whose module built and judge each;
    their Results, then the host-side suites' and the self-check's.  The
    host-side suites run beside the boots, and the self-check (a planted
    run with emulators of its own) as the boots' last job, beside the
    longest boots' end: the host's CPUs stay busy."""
    machines = boot.parse_machines(settings.configs)
    results = []
    for machine in machines:
        if not built.ok(build.module_part(host.kernels[machine.flavour])):
            print(f"not ok - no boot of {machine.name}: vapicvm.ko for the {machine.flavour} "
                  "kernel did not build", flush=True)
    machines = [m for m in machines if built.ok(build.module_part(host.kernels[m.flavour]))]
    media = boot_media(settings, host, built, machines)
    names = " ".join(m.name for m in machines)
    with step(f"booting: {names} ({settings.jobs} at a time), with the host-side tests"), \
            ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
        futures = boot.submit_all(pool, machines, {n: iso for n, (iso, _) in media.items()},
                                  host.bochs, settings.bench, settings.boot_timeout)
        if settings.mode == "check" and not settings.skip_host_tests:
            with step("host-side tests"):
                results += hosttests.run_all(settings, host, built)
        checked = pool.submit(hosttests.self_check, settings) \
            if self_check_wanted(settings) else None
        measured = {m.name: futures[m.name].result() for m in machines}
        log("every machine's boot is done")
    for machine in machines:
        results += judge_boot(settings, machine, measured[machine.name], media[machine.name][1])
    if checked:
        print("# bench self-check (planted failures must fail a run)", flush=True)
        checked.result().print()
        results.append(checked.result().result)
    return results


def run(settings):
    """The whole run; its Results."""
    # An unknown machine fails now, not after the build.
    machines = boot.parse_machines(settings.configs)
    host = build.set_up(settings, list(dict.fromkeys(m.flavour for m in machines)))
    settings.bench.mkdir(parents=True, exist_ok=True)
    built = build.build_all(settings, host)
    return list(built.failures) + boot_and_judge(settings, host, built)


def main(argv=None):
    """Entry point: returns the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    default = " ".join(m.name for m in boot.MACHINES) if args.mode == "check" \
        else boot.RUN_MACHINE
    settings = Settings.from_environment(args.mode, ROOT, default)
    try:
        if settings.kernels and not os.environ.get("CONFIGS"):
            settings.configs = boot.machines_for_kernels(settings.kernels, args.mode)
        results = run(settings)
    except (BenchError, ValueError, subprocess.CalledProcessError) as error:
        log(f"error: {error}")
        return 1
    (settings.bench / "results.txt").write_text(summary.results_text(results))
    print("\n".join(summary.summary_lines(results)), flush=True)
    return summary.exit_status(results)
