#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The emulated test bench's entry point (testbench/bench.sh runs it);
bench.py --help lists the modes and every environment variable."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vapicvm_bench.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
