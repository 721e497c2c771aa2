"""The record of processing activities (GDPR Art. 30(1)), one activity per purpose, generated
from the catalog: purposes, categories of personal data, legal bases and time limits for erasure
from the column tags; data subjects through column lineage from the source tables; the
measures the policy enforces from ``policy.yml``; what columns cannot tell (controller and DPO,
recipients, transfers, general security measures) from ``controller.yml``.

Every item of every activity must be filled: an empty one raises :class:`RopaError`.

Items (Art. 30(1)): (a) ``controller``, (b) ``purposes``, (c) ``data_subject_categories`` and
``personal_data_categories``, (d) ``recipients``, (e) ``third_country_transfers``,
(f) ``erasure_time_limits``, (g) ``security_measures``; plus the activity's ``name``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from catalog.lineage import ColumnRef, EdgeType
from catalog.loader import Catalog
from catalog.reports.context import duration_days, duration_words
from catalog.retention.declarations import (
    DELIVERY,
    SUPERSEDED,
    Declaration,
    RetentionError,
    load_declarations,
)
from catalog.taxonomy import LegalBasis, SpecialCategoryGround, covered_by_any, covers

ITEMS = (
    "name",
    "controller",
    "purposes",
    "data_subject_categories",
    "personal_data_categories",
    "recipients",
    "third_country_transfers",
    "erasure_time_limits",
    "security_measures",
)
ARTICLE = {
    "name": "",
    "controller": "(a)",
    "purposes": "(b)",
    "data_subject_categories": "(c)",
    "personal_data_categories": "(c)",
    "recipients": "(d)",
    "third_country_transfers": "(e)",
    "erasure_time_limits": "(f)",
    "security_measures": "(g)",
}
TITLES = {
    "name": "Activity",
    "controller": "Controller, joint controllers, representative, DPO",
    "purposes": "Purposes of the processing",
    "data_subject_categories": "Categories of data subjects",
    "personal_data_categories": "Categories of personal data",
    "recipients": "Categories of recipients",
    "third_country_transfers": "Transfers to third countries",
    "erasure_time_limits": "Time limits for erasure",
    "security_measures": "Technical and organisational security measures",
}
UNIQUE_ID_PSEUDONYMOUS = "user.unique_id.pseudonymous"


class RopaError(Exception):
    """The record cannot be complete (an item would be empty): one line, what to fill in."""


@dataclass(frozen=True)
class Activity:
    """One processing activity: everything Art. 30(1) asks for one purpose."""

    purpose: str
    name: str
    controller: dict[str, Any]
    purposes: tuple[dict[str, Any], ...]
    data_subject_categories: tuple[str, ...]
    personal_data_categories: tuple[dict[str, str], ...]
    recipients: tuple[str, ...]
    third_country_transfers: str
    erasure_time_limits: tuple[dict[str, Any], ...]
    security_measures: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"purpose": self.purpose}
        for item in ITEMS:
            value = getattr(self, item)
            out[item] = list(value) if isinstance(value, tuple) else value
        return out


def _legal_basis_text(key: str) -> str:
    for enum in (LegalBasis, SpecialCategoryGround):
        try:
            return f"{key} (Art. {enum(key).article})"
        except ValueError:
            continue
    return key


class _Builder:
    def __init__(self, catalog: Catalog):
        self.c = catalog
        self._sources: dict[ColumnRef, frozenset[str]] = {}
        self._declarations: dict[tuple[str, str], Declaration] | None = None
        # purpose -> the columns whose tags name it
        self.columns: dict[str, list[ColumnRef]] = defaultdict(list)
        for ref in catalog.graph.columns():
            for p in catalog.column_tags(ref).purposes:
                self.columns[p].append(ref)

    def all_sources(self, ref: ColumnRef) -> frozenset[str]:
        """Source tables whose rows the column depends on, DIRECT or INDIRECT."""
        if ref not in self._sources:
            graph = self.c.graph
            if graph.nodes[ref.node].resource_type == "source":
                found = {ref.node}
            else:
                found = {
                    u.node
                    for u in graph.upstream(ref, types=(EdgeType.DIRECT, EdgeType.INDIRECT))
                    if graph.nodes[u.node].resource_type == "source"
                }
            self._sources[ref] = frozenset(found)
        return self._sources[ref]

    def controller(self) -> dict[str, Any]:
        cfg = self.c.controller
        return {
            **dict(cfg.controller),
            "data_protection_officer": (
                f"{cfg.data_protection_officer['name']}, {cfg.data_protection_officer['contact']}"
            ),
            "joint_controllers": list(cfg.joint_controllers) or ["None"],
            "representative": cfg.representative,
        }

    def activity(self, purpose: str) -> Activity:
        c, cfg = self.c, self.c.controller
        refs = self.columns[purpose]
        entry = cfg.activity_for(purpose)
        example = c.column_name(refs[0])
        if entry is None:
            raise RopaError(
                f"purpose {purpose} (tagged on {len(refs)} column(s), e.g. {example}) has no "
                f"entry under `activities` in {cfg.where}; add its name and recipients"
            )
        personal = [r for r in refs if c.is_personal(r)]
        if not personal:
            raise RopaError(
                f"purpose {purpose} is tagged only on non-personal (system) columns, e.g. "
                f"{example}: the record has no personal data categories for it; tag the personal "
                "columns it uses or drop the purpose from those columns"
            )
        name = entry.name or c.use_name(purpose)
        term = c.taxonomy.data_uses.get(purpose)
        bases = sorted(
            {
                b
                for r in refs
                for b in (*c.column_tags(r).legal_basis, *c.column_tags(r).art9_ground)
            }
        )
        if not bases:
            raise RopaError(
                f"purpose {purpose}: no column tagged with it names a legal basis (e.g. "
                f"{example}); tag its legal_basis"
            )
        purposes = (
            {
                "key": purpose,
                "name": c.use_name(purpose),
                "description": (term.description if term else "") or c.use_name(purpose),
                "legal_basis": [_legal_basis_text(b) for b in bases],
            },
        )
        return Activity(
            purpose=purpose,
            name=name,
            controller=self.controller(),
            purposes=purposes,
            data_subject_categories=self.data_subjects(purpose, personal),
            personal_data_categories=self.categories(personal),
            recipients=entry.recipients,
            third_country_transfers=entry.third_country_transfers or cfg.third_country_transfers,
            erasure_time_limits=self.erasure(purpose, personal),
            security_measures=(
                *cfg.security_measures,
                *entry.security_measures,
                *self.enforced_measures(purpose, refs),
            ),
        )

    def data_subjects(self, purpose: str, refs: Iterable[ColumnRef]) -> tuple[str, ...]:
        c, cfg = self.c, self.c.controller
        out: list[str] = []
        for uid in sorted({s for r in refs for s in self.all_sources(r)}):
            node = c.graph.nodes[uid]
            subjects = cfg.data_subjects_for(node.source_name or "", node.name)
            if subjects is None:
                raise RopaError(
                    f"source {node.label} feeds purpose {purpose} but {cfg.where} names no data "
                    f"subjects for it; add data_subjects.{node.source_name} (or .{node.label})"
                )
            out.extend(subjects)
        if not out:
            raise RopaError(
                f"purpose {purpose}: no source table feeds its columns, so its data subjects are "
                "unknown; declare the sources of its models"
            )
        return tuple(dict.fromkeys(out))

    def categories(self, refs: Iterable[ColumnRef]) -> tuple[dict[str, str], ...]:
        keys = sorted({k for r in refs for k in self.c.column_tags(r).categories})
        return tuple(
            {"key": k, "name": self.c.category_name(k)}
            for k in keys
            if not covered_by_any(k, ("system",))
        )

    def declaration(self, node_id: str) -> Declaration:
        """The retention declaration of a source table (catalog/retention: the one the sweep
        enforces)."""
        if self._declarations is None:
            try:
                self._declarations = {
                    (d.source or "", d.name or ""): d
                    for d in load_declarations(self.c.manifest)
                    if d.kind == "source"
                }
            except RetentionError as e:
                raise RopaError(str(e)) from None
        node = self.c.graph.nodes[node_id]
        found = self._declarations.get((node.source_name or "", node.name))
        if found is None:
            raise RopaError(f"source {node.label} has no retention declaration; declare it")
        return found

    def erasure(self, purpose: str, refs: Sequence[ColumnRef]) -> tuple[dict[str, Any], ...]:
        """The time limits for erasure: for the stored source tables the purpose reads, their
        retention declarations (the periods the daily sweep enforces, and what each runs
        from); for the columns built from them, their retention tags."""
        c = self.c
        groups: dict[tuple[str, str], list[ColumnRef]] = defaultdict(list)
        for r in refs:
            if c.graph.nodes[r.node].resource_type == "source":
                continue  # the source tables are listed from their declarations below
            retention = c.column_tags(r).retention
            if not retention:
                raise RopaError(
                    f"{c.column_name(r)} carries purpose {purpose} but has no retention tag; "
                    "tag its retention (ISO 8601 duration)"
                )
            groups[(retention, "")].append(r)
        for uid in sorted({s for r in refs for s in self.all_sources(r)}):
            d = self.declaration(uid)
            personal = [ColumnRef(uid, name) for name in c.graph.nodes[uid].columns]
            groups[(d.retention or "", _runs_from(d))].extend(personal)
        out = []
        for retention, runs_from in sorted(groups, key=lambda x: (duration_days(x[0]), x)):
            cols = groups[(retention, runs_from)]
            out.append(
                {
                    "retention": retention,
                    "duration": duration_words(retention),
                    "runs_from": runs_from or "the daily build (rebuilt from the sources)",
                    "categories": sorted(
                        {
                            k
                            for r in cols
                            for k in c.column_tags(r).categories
                            if not covered_by_any(k, ("system",))
                        }
                    ),
                    "datasets": sorted({c.graph.nodes[r.node].label for r in cols}),
                }
            )
        return tuple(out)

    def enforced_measures(self, purpose: str, refs: Sequence[ColumnRef]) -> list[str]:
        """What the platform enforces for this purpose, from policy.yml and the tags."""
        c, policy = self.c, self.c.policy
        out: list[str] = []
        if covers(policy.marketing_purpose, purpose):
            for name, g in policy.consent_gates.items():
                gates = sorted(
                    c.graph.nodes[uid].label
                    for uid, t in c.tags.items()
                    if name in t.consent_gate and uid in c.graph.nodes
                )
                data = ", ".join([*g.categories, *g.sources])
                out.append(
                    f"{data} reach this activity only through a proven {name} consent gate "
                    f"({', '.join(gates) or 'none declared: such data cannot reach it'}); "
                    "checked on column lineage before every build"
                )
        scopes = sorted(
            {
                s
                for r in policy.objection_requirements
                if covers(r.purpose, purpose)
                for s in r.scopes
            }
        )
        if scopes:
            out.append(
                f"Rows filtered by the objections log (scopes: {', '.join(scopes)}); an objection "
                "takes effect in the next daily run"
            )
        if covers(policy.statistics_purpose, purpose):
            out.append(
                f"Published statistics cells describe at least {policy.statistics_min_cell_size} "
                "persons; no personal data leaves the group"
            )
        if covered_by_any(purpose, policy.purpose_limited_purposes):
            out.append(
                "Purpose limitation: this data never reaches a marketing output (checked on "
                "column lineage before every build)"
            )
        pseudonymous = sorted(
            c.column_name(r)
            for r in refs
            if any(covers(UNIQUE_ID_PSEUDONYMOUS, k) for k in c.column_tags(r).categories)
        )
        if pseudonymous:
            out.append(
                "Pseudonymous data set: records are keyed by a keyed-hash pseudonym "
                f"({', '.join(pseudonymous)}), not joinable to persons without the key"
            )
        return out


def record_of_processing(catalog: Catalog) -> list[Activity]:
    """One activity per purpose found in the column tags, every item filled (else RopaError)."""
    builder = _Builder(catalog)
    activities = [builder.activity(p) for p in sorted(builder.columns)]
    for a in activities:
        for item in ITEMS:
            if not getattr(a, item):
                raise RopaError(f"activity {a.purpose}: item {item} is empty; fill it in")
    return activities


# -- rendering -------------------------------------------------------------------------------


def _item_lines(item: str, value: Any) -> list[str]:
    """An item as lines of text (for Markdown cells and CSV)."""
    if item == "controller":
        lines = [
            f"{value['name']} (org. no. {value['organisation_number']}), {value['address']}",
            f"Contact: {value['contact']}",
            f"Data protection officer: {value['data_protection_officer']}",
            f"Joint controllers: {', '.join(value['joint_controllers'])}",
            f"Representative: {value['representative']}",
        ]
        return lines
    if item == "purposes":
        return [
            f"{p['name']} ({p['key']}): {p['description']} "
            f"Legal basis: {', '.join(p['legal_basis'])}"
            for p in value
        ]
    if item == "personal_data_categories":
        return [f"{v['name']} ({v['key']})" for v in value]
    if item == "erasure_time_limits":
        return [
            f"{v['duration']} ({v['retention']}) from {v['runs_from']}: "
            f"{', '.join(v['categories'])} in "
            f"{', '.join(v['datasets'])}"
            for v in value
        ]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def render_json(activities: Sequence[Activity], catalog: Catalog) -> str:
    return json.dumps(
        {
            "record_of_processing": "GDPR Art. 30(1)",
            "controller": activities[0].controller if activities else {},
            "generated_on": dt.date.today().isoformat(),
            "project": catalog.manifest.project_name,
            "activities": [a.to_json() for a in activities],
        },
        indent=2,
        ensure_ascii=False,
    )


def render_csv(activities: Sequence[Activity]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["purpose", *ITEMS])
    for a in activities:
        data = a.to_json()
        writer.writerow([a.purpose, *("; ".join(_item_lines(item, data[item])) for item in ITEMS)])
    return buf.getvalue()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(activities: Sequence[Activity], catalog: Catalog) -> str:
    cfg = catalog.controller
    lines = [
        "# Record of processing activities (GDPR Art. 30(1))",
        "",
        f"Controller: **{cfg.controller['name']}**, {cfg.controller['address']}. "
        f"Data protection officer: {cfg.data_protection_officer['name']}, "
        f"{cfg.data_protection_officer['contact']}.",
        "",
        f"Generated on {dt.date.today().isoformat()} from the catalog of the dbt project "
        f"`{catalog.manifest.project_name}`: categories, purposes, legal bases and time limits "
        "from the column tags, data subjects through column lineage, the rest from "
        f"`{cfg.path.name if cfg.path else 'controller.yml'}`. {len(activities)} activities, "
        "one per purpose.",
        "",
    ]
    for i, a in enumerate(activities, 1):
        data = a.to_json()
        lines += [
            f"## {i}. {a.name}",
            "",
            f"Purpose key: `{a.purpose}`",
            "",
            "| Art. 30(1) | Item | Content |",
            "|---|---|---|",
        ]
        for item in ITEMS[1:]:
            content = "<br>".join(_cell(x) for x in _item_lines(item, data[item]))
            lines.append(f"| {ARTICLE[item]} | {TITLES[item]} | {content} |")
        lines.append("")
    return "\n".join(lines)


def _runs_from(d: Declaration) -> str:
    """What a source table's retention runs from, in words."""
    if d.retention_from == DELIVERY:
        return "the delivery date"
    if d.retention_from == SUPERSEDED:
        return "the event that supersedes it (the event in force is kept)"
    return f"{d.retention_from} (kept while it is null)"
