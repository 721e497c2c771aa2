"""Memory: pausing Python's cyclic garbage collector around allocation-heavy work."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while one query is analysed, or while tags are
    resolved and the policy evaluated.

    A query's syntax tree is tens of thousands of objects with parent pointers, allocated at
    once: the collector's full passes over the growing tree make parsing and qualifying a wide
    query superlinear. The tree is garbage once its lineage is known; the first collection
    after this block (a young-generation one, linear in what was allocated) frees it. Tags and
    the policy allocate many short-lived objects, nearly all freed by reference counting,
    while the manifest and the graph hold hundreds of thousands: the collector's passes over
    those would cost more than the work. The previous state is restored afterwards.

    >>> with gc_paused():
    ...     gc.isenabled()
    False
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
