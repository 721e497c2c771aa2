"""Hand-built lineage graphs for the policy rules: a small group with the landing sources of
the real project, to which each test adds models and edges (no dbt needed)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from catalog.lineage.graph import ColumnRef, Edge, EdgeType, Node, ProjectGraph, Subtype
from catalog.policy import PolicyResult, evaluate
from catalog.tags import ProjectTags, resolve_tags

P = "fjordbank"

SOURCES: dict[str, dict[str, str]] = {
    "markets.securities_holdings": {
        "custody_account_no": "user.financial.product_holding",
        "national_id": "user.government_id.national_identification_number",
        "isin": "user.financial.securities",
        "market_value": "user.financial.securities",
    },
    "asset_management.fund_holdings": {
        "national_id": "user.government_id.national_identification_number",
        "fund_code": "user.financial.product_holding",
        "units": "user.financial.funds",
    },
    "bank.customers": {
        "national_id": "user.government_id.national_identification_number",
        "first_name": "user.name",
        "postcode": "user.contact.address.postal_code",
        "birth_date": "user.demographic.date_of_birth",
    },
    "bank.loans": {
        "customer_no": "user.unique_id",
        "outstanding": "user.financial.loan",
        "in_default": "user.financial.credit_history",
    },
    "privacy.group_sharing_consents": {
        "national_id": "user.government_id.national_identification_number",
        "consent": "user.privacy_preferences",
        "channel": "user.privacy_preferences",
        "event_time": "user.privacy_preferences",
    },
    "privacy.objections": {
        "national_id": "user.government_id.national_identification_number",
        "scope": "user.privacy_preferences",
        "action": "user.privacy_preferences",
        "event_time": "user.privacy_preferences",
    },
    "privacy.cookie_consents": {
        "visitor_id": "user.device.cookie_id",
        "marketing_cookies": "user.privacy_preferences",
    },
    "web.page_views": {
        "visitor_id": "user.device.cookie_id",
        "page_path": "user.behavior.browsing_history",
        "ip_address": "user.device.ip_address",
    },
    "risk.default_cases": {
        "national_id": "user.government_id.national_identification_number",
        "defaulted_amount": "user.financial.credit_history",
    },
}

MARKETING = ["marketing.advertising.profiling"]
ADMIN = ["essential.service.customer_administration"]


class World:
    """A project under construction. Columns are written ``name.column``; sources by their
    ``source.table`` label (``markets.securities_holdings.market_value``)."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.props: dict[str, dict[str, Any]] = {}
        self.edges: list[Edge] = []
        self.by_name: dict[str, str] = {}
        self.extra_deps: dict[str, set[str]] = {}
        for label, cols in SOURCES.items():
            self.source(label, cols)

    # -- nodes -----------------------------------------------------------------------------
    def source(self, label: str, cols: dict[str, str], purposes=("essential.service",)) -> str:
        source_name, table = label.split(".")
        uid = f"source.{P}.{source_name}.{table}"
        self._add(
            Node(uid, table, "source", tuple(cols), source_name=source_name, path=None),
            label,
            {"purposes": list(purposes), "legal_basis": "contract"},
            {c: {"category": cat} for c, cat in cols.items()},
        )
        return uid

    def model(
        self,
        name: str,
        cols: dict[str, str | dict[str, Any]],
        *,
        purposes: Iterable[str] = ADMIN,
        legal_basis: str = "legitimate_interests",
        gate: str | None = None,
        folder: str = "marts/marketing",
        sql: str = "select 1",
        resource_type: str = "model",
        extra: dict[str, Any] | None = None,
        depends_on: Iterable[str] = (),
    ) -> str:
        uid = f"{resource_type}.{P}.{name}"
        privacy: dict[str, Any] = {"purposes": list(purposes), "legal_basis": legal_basis}
        if gate:
            privacy["consent_gate"] = gate
        privacy.update(extra or {})
        self.extra_deps[uid] = {self.by_name[d] for d in depends_on}
        col_tags = {c: ({"category": t} if isinstance(t, str) else t) for c, t in cols.items()}
        self._add(
            Node(
                uid,
                name,
                resource_type,
                tuple(cols),
                sql=sql,
                depends_on=(),
                path=f"models/{folder}/{name}.sql",
            ),
            name,
            privacy,
            col_tags,
        )
        return uid

    def _add(self, node: Node, key: str, privacy: dict, columns: dict) -> None:
        self.nodes[node.unique_id] = node
        self.by_name[key] = node.unique_id
        self.props[node.unique_id] = {
            "unique_id": node.unique_id,
            "resource_type": node.resource_type,
            "config": {"meta": {"privacy": privacy}},
            "columns": {c: {"config": {"meta": {"privacy": t}}} for c, t in columns.items()},
        }

    # -- edges -----------------------------------------------------------------------------
    def ref(self, dotted: str) -> ColumnRef:
        key, _, col = dotted.rpartition(".")
        return ColumnRef(self.by_name[key], col)

    def direct(self, src: str, dst: str, subtype: Subtype = Subtype.IDENTITY, **kw) -> World:
        d = self.ref(dst)
        self.edges.append(Edge(self.ref(src), d.node, d.column, EdgeType.DIRECT, subtype, **kw))
        return self

    def conditional(self, src: str, dst: str) -> World:
        d = self.ref(dst)
        self.edges.append(
            Edge(self.ref(src), d.node, d.column, EdgeType.INDIRECT, Subtype.CONDITIONAL)
        )
        return self

    def window(self, src: str, dst: str) -> World:
        d = self.ref(dst)
        self.edges.append(Edge(self.ref(src), d.node, d.column, EdgeType.INDIRECT, Subtype.WINDOW))
        return self

    def dataset(self, src: str, model: str, subtype: Subtype, restricts: bool = False) -> World:
        self.edges.append(
            Edge(
                self.ref(src),
                self.by_name[model],
                None,
                EdgeType.INDIRECT,
                subtype,
                restricts_rows=restricts,
            )
        )
        return self

    def passthrough(self, src_model: str, dst_model: str, cols: Iterable[str]) -> World:
        for c in cols:
            self.direct(f"{src_model}.{c}", f"{dst_model}.{c}")
        return self

    # -- results ---------------------------------------------------------------------------
    def graph(self) -> ProjectGraph:
        deps: dict[str, set[str]] = {u: set(d) for u, d in self.extra_deps.items()}
        for e in self.edges:
            deps.setdefault(e.target_node, set()).add(e.source.node)
        nodes = [
            Node(
                n.unique_id,
                n.name,
                n.resource_type,
                n.columns,
                sql=n.sql,
                depends_on=tuple(sorted(deps.get(n.unique_id, ()))),
                path=n.path,
                source_name=n.source_name,
            )
            for n in self.nodes.values()
        ]
        return ProjectGraph(nodes, self.edges)

    def tags(self) -> ProjectTags:
        return resolve_tags(self.props.values())

    def evaluate(self, **kw) -> PolicyResult:
        return evaluate(self.graph(), self.tags(), **kw)

    def violations(self, rule: str | None = None) -> list[tuple[str, str, str | None]]:
        res = self.evaluate()
        return [(v.rule, v.model, v.column) for v in res.violations if rule in (None, v.rule)]


def consent_state(w: World) -> World:
    """int_consent_state: person_id (from national_id) and has_consent (from consent)."""
    w.model(
        "int_consent_state",
        {"person_id": "user.unique_id", "has_consent": "user.privacy_preferences"},
        folder="intermediate/privacy",
        purposes=["functional.storage.privacy_preferences"],
        legal_basis="legal_obligation",
    )
    w.direct(
        "privacy.group_sharing_consents.national_id",
        "int_consent_state.person_id",
        Subtype.TRANSFORMATION,
        masking=True,
        keyed=True,
    )
    w.direct(
        "privacy.group_sharing_consents.consent",
        "int_consent_state.has_consent",
        Subtype.TRANSFORMATION,
    )
    return w


def objection_state(w: World) -> World:
    """int_objections: one flag per scope, defined with the scope literal in its SQL."""
    scopes = ["direct_marketing", "profiling", "statistics", "social_matching"]
    sql = (
        "with pivoted as (select national_id, "
        + ", ".join(
            f"max(case when scope = '{s}' then 1 else 0 end) = 1 as objects_{s}" for s in scopes
        )
        + " from objections where action = 'object' group by national_id) "
        "select "
        + ", ".join(f"coalesce(pivoted.objects_{s}, false) as objects_{s}" for s in scopes)
        + ", national_id as person_id from pivoted"
    )
    cols = {f"objects_{s}": "user.privacy_preferences" for s in scopes}
    cols["person_id"] = "user.unique_id"
    w.model(
        "int_objections",
        cols,
        folder="intermediate/privacy",
        purposes=["functional.storage.privacy_preferences"],
        legal_basis="legal_obligation",
        sql=sql,
    )
    for s in scopes:
        w.conditional("privacy.objections.scope", f"int_objections.objects_{s}")
    w.direct(
        "privacy.objections.national_id",
        "int_objections.person_id",
        Subtype.TRANSFORMATION,
        masking=True,
        keyed=True,
    )
    w.dataset("privacy.objections.action", "int_objections", Subtype.FILTER, restricts=True)
    return w
