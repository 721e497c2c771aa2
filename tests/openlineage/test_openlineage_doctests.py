"""The examples in the OpenLineage event modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "catalog.openlineage",
    "catalog.openlineage.column_lineage",
    "catalog.openlineage.dagster_run",
    "catalog.openlineage.dataset_facets",
    "catalog.openlineage.dbt_nodes",
    "catalog.openlineage.dbt_tests",
    "catalog.openlineage.naming",
    "catalog.openlineage.parent",
    "catalog.openlineage.privacy_tags",
    "catalog.openlineage.run_events",
    "catalog.openlineage.run_facets",
    "catalog.openlineage.timestamps",
    "catalog.openlineage.verdict",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
