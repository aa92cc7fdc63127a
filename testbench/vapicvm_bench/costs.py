# SPDX-License-Identifier: GPL-2.0
"""`make bench`'s report: the costs kvm_comparison_test measured, as a
table and as JSON, and the difference between two such JSON files.

The test prints, in each machine's serial log,
  # cost-config: iterations=N vapicvm_tier="..." kvm_enable_apicv=Y
  # cost: <operation> vapicvm=<ticks> kvm=<ticks>
where a cost is TSC ticks per operation (emulated instructions in the
bench machine): the guest's TSC for guest operations, the host's for the
host-interface ones (vm_create_destroy, memslot_add_remove,
vm_first_exit); for the Linux guest's boot, the host's TSC ticks from the
first entry to the end (linux_boot) and exit counts (linux_boot_*);
kvm=- where KVM did not run the operation.  Usage:
  python3 -m vapicvm_bench.costs report BENCH_DIR JSON_OUT
  python3 -m vapicvm_bench.costs compare OLD.json NEW.json
"""

import json
import re
import sys
from pathlib import Path

_CONFIG = re.compile(r'# cost-config: iterations=(\d+) vapicvm_tier="([^"]*)" '
                     r"kvm_enable_apicv=(\S+)")
_COST = re.compile(r"# cost: (\S+) vapicvm=(\d+) kvm=(\d+|-)")


def parse(text):
    """{"iterations", "vapicvm_tier", "kvm_enable_apicv", "ops": {op:
    {"vapicvm": n, "kvm": n or None}}} from one serial log; None if it
    has none."""
    result = None
    for line in text.splitlines():
        match = _CONFIG.search(line)
        if match:
            result = {"iterations": int(match[1]), "vapicvm_tier": match[2],
                      "kvm_enable_apicv": match[3], "ops": {}}
            continue
        match = _COST.search(line)
        if match and result is not None:
            kvm = None if match[3] == "-" else int(match[3])
            result["ops"][match[1]] = {"vapicvm": int(match[2]), "kvm": kvm}
    return result


def collect(bench_dir):
    """{machine: parse(its serial log)} for every machine that reported."""
    machines = {}
    for serial in sorted(Path(bench_dir).glob("*/serial.out")):
        parsed = parse(serial.read_text(errors="replace"))
        if parsed:
            machines[serial.parent.name] = parsed
    return machines


def ratio(ours, theirs):
    """vapicvm / KVM as text, "-" when KVM's cost is 0 or unknown."""
    return f"{ours / theirs:.2f}" if theirs else "-"


def op_width(result):
    """The operation column's width: the longest name."""
    return max([len("operation")] + [len(op) for op in result["ops"]])


def value_width(result):
    """The number columns' width: 9, or the longest number (a whole boot's
    ticks)."""
    values = [cost[side] for cost in result["ops"].values() for side in ("vapicvm", "kvm")]
    return max([9] + [len(str(v)) for v in values if v is not None])


def table(machines):
    """The report's lines: per machine, its configuration, then one row
    per operation."""
    lines = []
    for name, result in machines.items():
        width, num = op_width(result), value_width(result)
        lines.append(f"{name}: {result['iterations']} iterations; vapicvm tier: "
                     f"{result['vapicvm_tier']}; KVM enable_apicv={result['kvm_enable_apicv']}")
        lines.append(f"  {'operation':<{width}} {'vapicvm':>{num}} {'KVM':>{num}} {'ratio':>6}")
        for op, cost in result["ops"].items():
            kvm = "-" if cost["kvm"] is None else cost["kvm"]
            lines.append(f"  {op:<{width}} {cost['vapicvm']:>{num}} {kvm:>{num}} "
                         f"{ratio(cost['vapicvm'], cost['kvm']):>6}")
        lines.append("")
    return lines


def compare(old, new):
    """Lines comparing vapicvm's costs of two reports, machine by machine."""
    lines = []
    for name, result in new.items():
        before = old.get(name)
        if not before:
            lines.append(f"{name}: not in the old report")
            continue
        width = op_width(result)
        num = max(value_width(result), value_width(before))
        lines.append(f"{name}:")
        lines.append(f"  {'operation':<{width}} {'old':>{num}} {'new':>{num}} {'new/old':>8} "
                     f"{'new/KVM':>8}")
        for op, cost in result["ops"].items():
            was = before["ops"].get(op, {}).get("vapicvm")
            old_text = str(was) if was is not None else "-"
            lines.append(f"  {op:<{width}} {old_text:>{num}} {cost['vapicvm']:>{num}} "
                         f"{ratio(cost['vapicvm'], was or 0):>8} "
                         f"{ratio(cost['vapicvm'], cost['kvm']):>8}")
        lines.append("")
    return lines


def main(argv):
    """The command line: report or compare."""
    if len(argv) == 3 and argv[0] == "report":
        machines = collect(argv[1])
        if not machines:
            print(f"no costs found in {argv[1]}/*/serial.out", file=sys.stderr)
            return 1
        Path(argv[2]).write_text(json.dumps(machines, indent=2) + "\n")
        print("\n".join(table(machines)))
        print(f"(written to {argv[2]})")
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        old, new = (json.loads(Path(p).read_text()) for p in argv[1:])
        print("\n".join(compare(old, new)))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
