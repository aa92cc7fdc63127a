# SPDX-License-Identifier: GPL-2.0
"""Progress messages on stderr ("bench: ..."), apart from the TAP results on
stdout, with each step's wall time and the CPU time its programs used."""

import resource
import sys
import time
from contextlib import contextmanager


def log(message):
    """One progress line on stderr."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


class BenchError(Exception):
    """A set-up or build failure that ends the run: no results to judge."""


@contextmanager
def step(message):
    """Log a step's start, and once it is done its wall time and the CPU
    time (user and system) of every program the bench ran that ended
    meanwhile, the step's own and those of work in the background: the
    set-up's steps are judged by how well they use the host's CPUs."""
    log(message)
    start, cpu = time.monotonic(), _children_cpu()
    yield
    log(f"  ({time.monotonic() - start:.1f} s, {_children_cpu() - cpu:.1f} s of CPU)")


def _children_cpu():
    """CPU seconds used by this process's waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
