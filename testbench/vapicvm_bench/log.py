# SPDX-License-Identifier: GPL-2.0
"""Progress messages on stderr ("bench: ..."), apart from the TAP results on
stdout, with each step's wall time."""

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
    """Log a step's start, and its wall time once it is done."""
    log(message)
    start = time.monotonic()
    yield
    log(f"  ({time.monotonic() - start:.1f} s)")
