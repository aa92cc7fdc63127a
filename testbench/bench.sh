#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The emulated test bench.  No machine here has VMX or can load a module, so
# every test of the module runs in an emulated Intel machine (Bochs 3.0),
# booting the Debian kernel whose headers the module is built against, with
# the module and the tests in an initramfs; results come back through the
# serial console.
#
#   bench.sh check    set up, build, run every test on every bench machine
#   bench.sh run      set up, build, run the main job (a guest through vapicvm)
#   bench.sh --help   the modes and every environment variable
#
# The bench itself is Python 3 (standard library only): testbench/bench.py
# and testbench/vapicvm_bench/.  This wrapper only makes sure Python is
# there on a fresh machine (setup-host.sh installs it with the rest).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v python3 >/dev/null; then
	"$here/setup-host.sh"
fi
exec python3 "$here/bench.py" "$@"
