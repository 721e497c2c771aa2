"""What an evaluation of the policy returns: each broken guarantee (``Violation``) and the
result of all rules (``PolicyResult``); ``PolicyError`` when the graph cannot be judged."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any


class PolicyError(Exception):
    """The policy could not be evaluated on this graph (exit 2): one line, what to do."""


@dataclass(frozen=True)
class Violation:
    """One broken guarantee.

    ``model`` is the dbt name of the node at fault (``source.table`` for sources), ``column``
    the column (None for a node-level violation), ``sources`` the restricted source columns
    involved (``source_name.table.column``), ``path`` the chain of model columns between them.
    """

    rule: str
    model: str
    column: str | None
    message: str
    sources: tuple[str, ...] = ()
    path: tuple[str, ...] = ()
    node_id: str = field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "model": self.model,
            "column": self.column,
            "sources": list(self.sources),
            "path": list(self.path),
            "message": self.message,
        }

    def to_text(self) -> str:
        where = f"{self.model}.{self.column}" if self.column else self.model
        return f"[{self.rule}] {where}: {self.message}"


@dataclass(frozen=True)
class PolicyResult:
    violations: tuple[Violation, ...]
    models_checked: int  # models, snapshots and Python assets: not sources or seeds
    columns_checked: int  # of every node, sources and seeds included
    seeds_checked: int = 0
    sources_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations

    def by_rule(self) -> dict[str, list[Violation]]:
        out: dict[str, list[Violation]] = defaultdict(list)
        for v in self.violations:
            out[v.rule].append(v)
        return dict(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "violations": [v.to_json() for v in self.violations],
            "models_checked": self.models_checked,
            "columns_checked": self.columns_checked,
        }
