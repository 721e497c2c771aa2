"""The ``dataQualityAssertions`` of dbt's tests: which tests ran on which node, and how.

>>> manifest = {"nodes": {"test.p.not_null_m_id": {
...     "name": "not_null_m_id", "attached_node": "model.p.m", "column_name": "id",
...     "test_metadata": {"name": "not_null"}, "config": {"severity": "ERROR"}}}}
>>> results = {"results": [{"unique_id": "test.p.not_null_m_id", "status": "pass"}]}
>>> found = dbt_test_assertions(manifest, results)["model.p.m"]
>>> [(a.assertion, a.column, a.success) for a in found]
[('not_null', 'id', True)]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog.openlineage.dataset_facets import Assertion
from catalog.openlineage.dbt_nodes import DBT_RESOURCES

__all__ = ["dbt_test_assertions"]

# dbt/tests/generic/columns_not_null.sql and columns_accepted_values.sql: not_null and
# accepted_values of many columns in one query each; a set-based test that passed stands for
# the per-column test on each of its columns.
PER_COLUMN = {"columns_not_null": "not_null", "columns_accepted_values": "accepted_values"}


def dbt_test_assertions(
    manifest_json: Mapping[str, Any], run_results: Mapping[str, Any]
) -> dict[str, list[Assertion]]:
    """``dataQualityAssertions`` entries per tested node from a run's test results.

    ``assertion`` is the generic test (``not_null``, ``accepted_values``; ``custom_sql`` for a
    singular test), ``name`` the test node, ``success`` whether it passed (a ``warn`` found
    issues, so it is False with severity ``warn``), ``column`` the tested column if any.
    A set-based test that passed gives the per-column test's assertion for each column it
    tested (``columns_not_null``: ``not_null``; ``columns_accepted_values``:
    ``accepted_values``). Skipped tests are left out."""
    nodes = manifest_json.get("nodes") or {}
    out: dict[str, list[Assertion]] = {}
    for result in run_results.get("results") or []:
        uid = result.get("unique_id", "")
        props = nodes.get(uid)
        status = result.get("status")
        if not uid.startswith("test.") or props is None or status == "skipped":
            continue
        target = props.get("attached_node") or next(
            (
                d
                for d in reversed((props.get("depends_on") or {}).get("nodes") or [])
                if d.split(".")[0] in (*DBT_RESOURCES, "source")
            ),
            None,
        )
        if target is None:
            continue
        metadata = props.get("test_metadata") or {}
        kwargs = metadata.get("kwargs") or {}
        column = props.get("column_name") or kwargs.get("column_name")
        severity = (props.get("config") or {}).get("severity")
        severity = str(status if status == "warn" else severity or "").lower() or None
        assertion = metadata.get("name") or "custom_sql"
        if assertion in PER_COLUMN and status == "pass":
            # a set-based test of many columns passed: each column's own test holds
            out.setdefault(target, []).extend(
                Assertion(
                    PER_COLUMN[assertion], True, column=c, severity=severity, name=props.get("name")
                )
                for c in kwargs.get("columns") or []
            )
            continue
        # (one that failed stays one assertion: which columns failed is in its result rows,
        # not in the run results)
        out.setdefault(target, []).append(
            Assertion(
                assertion=assertion,
                success=status == "pass",
                column=column or None,
                severity=severity,
                name=props.get("name"),
            )
        )
    return out
