"""More leak-suite cases, one module per area (``tests/policy/test_check_command.py`` merges them).

Each module may define the dicts ``LEAKS`` (leaking marketing / statistics / ... models),
``HELPERS`` (intermediate models they use), ``GOOD`` (benign twins that must pass),
``EXPECTED`` (model -> (rule, column, restricted source that must be named)) and the set
``REFUTED_GATES`` (helpers declaring a consent gate that the proof must refute). A case may put
its model in another folder than the default one with a fourth element (``{"folder": ...}``).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def modules() -> list[ModuleType]:
    """Every case module of this package, in name order."""
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)
    ]
