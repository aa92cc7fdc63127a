# SPDX-License-Identifier: GPL-2.0
"""python3 -m vapicvm_bench (from testbench/): the bench's entry point."""

import sys

from .main import main

sys.exit(main())
