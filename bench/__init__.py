"""Benchmarks (`make bench`): each figure is a ratio against a baseline measured in the same run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def scoped_environ() -> Iterator[None]:
    """Restore ``os.environ`` as it was on entry, whatever the block set or removed."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
