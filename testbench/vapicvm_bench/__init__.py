# SPDX-License-Identifier: GPL-2.0
"""The emulated test bench of vapicvm (see Documentation/testbench.rst).

Standard library only: markers (what guest and host agree on), tap
(counting), judge (serial log -> results, pure), image, boot, build,
hosttests, summary, and main, the driver behind testbench/bench.sh.
"""
