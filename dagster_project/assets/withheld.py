"""Outputs withheld while a restricting privacy event cannot be applied (LANDING.md).

When the ingest could not apply a restricting event of a privacy event log (a file that cannot
be read, a restricting row rejected; ``quarantine.unapplied_events``, written by
:func:`~dagster_project.landing.load.ingest_table`), the outputs the event governs must not be
published until it is. The governed outputs are the dbt models downstream of that log's source
in the manifest's graph (``child_map``), never a list kept by hand. The dbt step
(``assets/dbt.py``) leaves them out of its build (``--exclude source:<source>.<table>+``, so
dagster-dbt yields no materialisation for them and their row checks are skipped) and first
drops their existing relations: they are derived and the next good run rebuilds them, while a
stale one would still hold, say, the objector. Everything else builds.

:func:`plan_withholding` says what to withhold; :func:`withhold` drops the relations;
:func:`withheld_outputs` is the same plan for a run summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.landing.load import Unapplied, unapplied_events


@dataclass(frozen=True)
class Withheld:
    """What one dbt build must leave out, and why."""

    events: dict[tuple[str, str], list[Unapplied]]  # (source, table) -> unapplied events
    selectors: tuple[str, ...]  # dbt --exclude selectors, one per event log
    models: tuple[tuple[str, str, str], ...]  # (model name, schema, alias), sorted

    def __bool__(self) -> bool:
        return bool(self.events)

    def summary(self) -> str:
        """One line: which logs, how many events, which outputs."""
        logs = ", ".join(
            f"{s}.{t} ({len(ev)} event(s), first {ev[0].to_text()})"
            for (s, t), ev in sorted(self.events.items())
        )
        names = ", ".join(m for m, _, _ in self.models) or "none"
        return (
            f"restricting privacy events not applied in {logs}; outputs withheld (not built, "
            f"existing relations dropped until the events are delivered again correctly): {names}"
        )


def plan_withholding(conn: duckdb.DuckDBPyConnection, manifest_path: Path) -> Withheld:
    """The outputs to withhold for the unapplied events recorded in the warehouse of ``conn``.

    A privacy log the manifest declares no source for fails closed (ValueError): its events
    would govern outputs nobody could name.
    """
    events = unapplied_events(conn)
    if not events:
        return Withheld({}, (), ())
    manifest = json.loads(Path(manifest_path).read_text())
    sources = {(v["source_name"], v["name"]): k for k, v in manifest["sources"].items()}
    selectors, governed = [], set()
    for source, table in sorted(events):
        uid = sources.get((source, table))
        if uid is None:
            raise ValueError(
                f"unapplied {source}/{table} events, but the dbt project declares no source "
                f"{source}.{table}, so the outputs they govern cannot be found; declare it"
            )
        selectors.append(f"source:{source}.{table}+")
        governed |= _descendants(manifest["child_map"], uid)
    models = sorted(
        (n["name"], n["schema"], n.get("alias") or n["name"])
        for uid in governed
        if (n := manifest["nodes"].get(uid))
        and n["resource_type"] in ("model", "snapshot")
        and n.get("config", {}).get("materialized") != "ephemeral"
    )
    return Withheld(events, tuple(selectors), tuple(models))


def withhold(conn: duckdb.DuckDBPyConnection, plan: Withheld) -> list[str]:
    """Drop the existing relations of ``plan``'s models; returns the ones dropped."""
    dropped = []
    for name, schema, alias in plan.models:
        row = conn.execute(
            "select table_type from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, alias],
        ).fetchone()
        if row is None:
            continue
        kind = "view" if row[0] == "VIEW" else "table"
        conn.execute(f"drop {kind} if exists {_ident(schema)}.{_ident(alias)}")
        dropped.append(name)
    return dropped


def withheld_outputs(warehouse: Path, manifest_path: Path) -> Withheld:
    """:func:`plan_withholding` on the warehouse file (read-only), for a run summary; nothing
    withheld when there is no warehouse yet."""
    if not Path(warehouse).exists():
        return Withheld({}, (), ())
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return plan_withholding(conn, manifest_path)


def _descendants(child_map: dict[str, list[str]], uid: str) -> set[str]:
    seen: set[str] = set()
    stack = [uid]
    while stack:
        for child in child_map.get(stack.pop(), []):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
