"""The examples in the report modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "catalog.national_id",
    "catalog.reports.access.evaluation",
    "catalog.reports.access.values",
    "catalog.reports.context",
    "catalog.reports.controller",
    "catalog.reports.lineage_page",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
