# SPDX-License-Identifier: GPL-2.0
"""`make bench`'s report and comparison (vapicvm_bench.costs)."""

import contextlib
import io
import json
import tempfile
import unittest
from pathlib import Path

from vapicvm_bench import costs

LOG = """\
VAPICVM-BENCH: begin kvm_comparison_test
# cost-config: iterations=200 vapicvm_tier="tpr-shadow apic-access" kvm_enable_apicv=Y
# cost: cpuid vapicvm=450 kvm=900
# cost: ipi vapicvm=3000 kvm=0
# cost: ipi_halt vapicvm=4000 kvm=-
ok 1 global.same_operations_on_vapicvm_and_kvm
"""


class Report(unittest.TestCase):
    """parse, collect, table."""

    def test_parse(self):
        self.assertEqual(costs.parse(LOG), {
            "iterations": 200, "vapicvm_tier": "tpr-shadow apic-access",
            "kvm_enable_apicv": "Y",
            "ops": {"cpuid": {"vapicvm": 450, "kvm": 900}, "ipi": {"vapicvm": 3000, "kvm": 0},
                    "ipi_halt": {"vapicvm": 4000, "kvm": None}}})

    def test_no_costs(self):
        self.assertIsNone(costs.parse("ok 1 x\n# cost: cpuid vapicvm=1 kvm=2\n"))

    def test_table_rows_and_ratio(self):
        lines = costs.table({"skylake-1": costs.parse(LOG)})
        self.assertIn("KVM enable_apicv=Y", lines[0])
        self.assertEqual(lines[2].split(), ["cpuid", "450", "900", "0.50"])
        self.assertEqual(lines[3].split(), ["ipi", "3000", "0", "-"])
        self.assertEqual(lines[4].split(), ["ipi_halt", "4000", "-", "-"])

    def test_columns_fit_a_whole_boot(self):
        log = LOG.replace("ok 1", "# cost: linux_boot vapicvm=8405406942 kvm=8520825339\nok 1")
        lines = costs.table({"skylake-2": costs.parse(log)})
        self.assertEqual(lines[5].split(), ["linux_boot", "8405406942", "8520825339", "0.99"])
        # Right-aligned in columns wide enough for the widest number.
        self.assertEqual(len({len(line) for line in lines[1:6]}), 1)

    def test_report_writes_json(self):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "cnl-1").mkdir()
            (Path(tmp) / "cnl-1" / "serial.out").write_text(LOG)
            (Path(tmp) / "skylake-1").mkdir()
            (Path(tmp) / "skylake-1" / "serial.out").write_text("no costs\n")
            out = Path(tmp) / "costs.json"
            with contextlib.redirect_stdout(io.StringIO()) as printed:
                self.assertEqual(costs.main(["report", tmp, str(out)]), 0)
            self.assertIn("cnl-1: 200 iterations", printed.getvalue())
            self.assertEqual(list(json.loads(out.read_text())), ["cnl-1"])

    def test_compare(self):
        old = {"m": costs.parse(LOG)}
        new = json.loads(json.dumps(old))
        new["m"]["ops"]["cpuid"]["vapicvm"] = 225
        new["m"]["ops"]["new_op"] = {"vapicvm": 10, "kvm": 20}
        lines = costs.compare(old, new)
        self.assertEqual(lines[2].split(), ["cpuid", "450", "225", "0.50", "0.25"])
        self.assertEqual(lines[4].split(), ["ipi_halt", "4000", "4000", "1.00", "-"])
        self.assertEqual(lines[5].split(), ["new_op", "-", "10", "-", "0.50"])


if __name__ == "__main__":
    unittest.main()
