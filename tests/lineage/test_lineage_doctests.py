"""The examples in the lineage modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "catalog.lineage.errors",
    "catalog.lineage.facet",
    "catalog.lineage.graph",
    "catalog.lineage.query",
    "catalog.lineage.schema",
    "catalog.manifest",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
