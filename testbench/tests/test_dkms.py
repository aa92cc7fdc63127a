# SPDX-License-Identifier: GPL-2.0
"""Which boot medium a machine boots: skylake-1 takes the vapicvm.ko DKMS
built, unless that build failed; the media's file names."""

import tempfile
import unittest
from pathlib import Path
from types import SimpleNamespace

from vapicvm_bench import boot, build, kernels, main, tap


def settings_in(directory):
    """Settings with just what medium_key reads."""
    return SimpleNamespace(build=Path(directory))


class MediumKey(unittest.TestCase):
    """medium_key: DKMS's module for DKMS_MACHINE only, and only if built."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.settings = settings_in(self.tmp.name)
        self.machines = {m.name: m for m in boot.MATRIX}

    def tearDown(self):
        self.tmp.cleanup()

    def built_module(self):
        module = build.dkms_module(self.settings)
        module.parent.mkdir(parents=True)
        module.write_text("ko")

    def test_dkms_machine_boots_dkms_module(self):
        self.built_module()
        key = main.medium_key(self.settings, self.machines[main.DKMS_MACHINE], build.Built())
        self.assertEqual(key, main.DKMS)

    def test_other_machines_boot_their_flavour(self):
        self.built_module()
        for name, flavour in (("skylake-2", kernels.DEBIAN), ("cnl-1", kernels.DEBIAN),
                              ("skylake-2-debug", kernels.DEBUG),
                              ("skylake-2-6.12", kernels.TRIXIE)):
            key = main.medium_key(self.settings, self.machines[name], build.Built())
            self.assertEqual(key, flavour)

    def test_failed_dkms_build_boots_in_tree_module(self):
        self.built_module()
        failed = build.Built([tap.Result("build/dkms", 0, 1, 0, [])])
        key = main.medium_key(self.settings, self.machines[main.DKMS_MACHINE], failed)
        self.assertEqual(key, kernels.DEBIAN)

    def test_missing_module_boots_in_tree_module(self):
        key = main.medium_key(self.settings, self.machines[main.DKMS_MACHINE], build.Built())
        self.assertEqual(key, kernels.DEBIAN)


class MediumName(unittest.TestCase):
    """Debian's medium keeps its names; a flavour or a variant adds its own."""

    def test_names(self):
        debian = SimpleNamespace(name=kernels.DEBIAN)
        debug = SimpleNamespace(name=kernels.DEBUG)
        self.assertEqual(main.medium_name(debian, "check"), "check")
        self.assertEqual(main.medium_name(debug, "check"), "check-debug")
        self.assertEqual(main.medium_name(debian, "check", main.DKMS), "check-dkms")
