"""The lineage page: one self-contained HTML file (``data/reports/lineage.html``) that shows the
column lineage of the whole project to a compliance officer, offline.

The page inlines the vendored graph libraries (``vendor/``: Cytoscape.js, laid out by dagre
through cytoscape-dagre), its own script and style (``templates/``) and the catalog's data as
JSON: datasets with their layer, purposes and consent gates; columns with their resolved tags
and the restricted data they are (securities and funds, web behaviour, risk, from
``policy.yml``); every lineage edge with its type and subtype; the policy's violations.

It opens on a dataset-level overview laid out by dagre; searching or clicking a column shows
that column's upstream and downstream columns, grouped by dataset and laid out by dagre, DIRECT
edges solid and INDIRECT edges dashed. A ``#MODEL.COLUMN`` fragment preselects a column (see
:func:`lineage_page_url`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import string
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from catalog.lineage import ColumnRef
from catalog.loader import Catalog
from catalog.policy import PolicyResult, proven_gates
from catalog.reports.context import duration_words, layer_of, restricted_by, restrictions

VENDOR_SCRIPTS = ("cytoscape.min.js", "cytoscape-dagre.min.js")
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)


def lineage_page_url(report_path: str | Path, column: str | None = None) -> str:
    """A ``file://`` URL of the page, preselecting ``column`` (``model.column``, or
    ``source.table.column`` for a source column) through the URL fragment.

    >>> lineage_page_url("/srv/reports/lineage.html", "marketing_scoring_features.age")
    'file:///srv/reports/lineage.html#marketing_scoring_features.age'
    """
    url = Path(report_path).resolve().as_uri()
    return f"{url}#{quote(column, safe='._-')}" if column else url


def _resource(*parts: str) -> str:
    return resources.files("catalog.reports").joinpath(*parts).read_text(encoding="utf-8")


def _column_id(catalog: Catalog, ref: ColumnRef) -> str:
    return catalog.column_name(ref)


def page_data(catalog: Catalog, result: PolicyResult) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data (see the module docstring)."""
    graph, tags, manifest = catalog.graph, catalog.tags, catalog.manifest
    proofs: dict[str, dict[str, str]] = {}
    for gate in catalog.policy.consent_gates:
        proven = proven_gates(graph, tags, catalog.policy, gate=gate, taxonomy=catalog.taxonomy)
        for name, how in proven.items():
            proofs.setdefault(name, {})[gate] = how

    violations_by_node: dict[str, list[int]] = {}
    violations = []
    for i, v in enumerate(result.violations):
        node_id = v.node_id or next(
            (uid for uid, n in graph.nodes.items() if n.label == v.model or n.name == v.model), ""
        )
        violations_by_node.setdefault(node_id, []).append(i)
        violations.append(
            {
                "rule": v.rule,
                "dataset": v.model,
                "node": node_id,
                "column": f"{v.model}.{v.column}" if v.column else None,
                "message": v.message,
                "sources": list(v.sources),
                "path": list(v.path),
            }
        )

    nodes, columns = [], {}
    for uid, node in graph.nodes.items():
        decl = manifest.nodes.get(uid)
        node_tags = tags.get(uid)
        col_ids = []
        node_restricted: set[str] = set()
        for name in node.columns:
            ref = ColumnRef(uid, name)
            cid = _column_id(catalog, ref)
            col_ids.append(cid)
            ct = catalog.column_tags(ref)
            restricted = restricted_by(catalog, ref)
            node_restricted.update(restricted)
            col_decl = decl.column(name) if decl else None
            columns[cid] = {
                "node": uid,
                "name": name,
                "description": col_decl.description if col_decl else "",
                "category": list(ct.categories),
                "category_names": [catalog.category_name(k) for k in ct.categories],
                "purposes": list(ct.purposes),
                "legal_basis": list(ct.legal_basis),
                "art9_ground": list(ct.art9_ground),
                "retention": ct.retention,
                "retention_words": duration_words(ct.retention) if ct.retention else None,
                "inherited": sorted(ct.inherited),
                "problems": list(ct.problems),
                "restricted": restricted,
                "violations": [
                    i
                    for i in violations_by_node.get(uid, [])
                    if violations[i]["column"] in (cid, f"{node.name}.{name}")
                ],
            }
        nodes.append(
            {
                "id": uid,
                "label": node.label,
                "type": node.resource_type,
                "layer": layer_of(node),
                "relation": node.relation,
                "materialized": node.materialized,
                "path": node.path,
                "description": decl.description if decl else "",
                "purposes": sorted(node_tags.all_purposes) if node_tags else [],
                "retention": node_tags.retention if node_tags else None,
                "gate": list(node_tags.consent_gate) if node_tags else [],
                "gate_proof": proofs.get(node.label, {}),
                "restricted": sorted(node_restricted),
                "violations": violations_by_node.get(uid, []),
                "columns": col_ids,
            }
        )

    edges = []
    for e in graph.edges:
        target_node = graph.nodes[e.target_node]
        edges.append(
            {
                "s": _column_id(catalog, e.source),
                "t": None if e.target_column is None else f"{target_node.label}.{e.target_column}",
                "tn": e.target_node,
                "type": str(e.type),
                "subtype": str(e.subtype),
                "masking": e.masking,
                "rows": e.restricts_rows,
            }
        )

    return {
        "project": manifest.project_name,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "restrictions": [
            {
                "key": r.key,
                "label": r.label,
                "categories": list(r.categories),
                "sources": list(r.sources),
                "purposes": list(r.purposes),
                "gate": r.gate,
            }
            for r in restrictions(catalog.policy)
        ],
        "gates": {
            name: {"consent_column": g.consent_column}
            for name, g in catalog.policy.consent_gates.items()
        },
        "nodes": nodes,
        "columns": columns,
        "edges": edges,
        "violations": violations,
        "summary": {
            "datasets": len(nodes),
            "columns": len(columns),
            "edges": len(edges),
            "violations": len(violations),
            "models_checked": result.models_checked,
        },
    }


def _json_for_script(data: Mapping[str, Any]) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>``, no ``<!--``)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _vendor_script(name: str) -> str:
    code = _SOURCE_MAP.sub("", _resource("vendor", name))
    if "</script" in code.lower():  # would end the inline script early
        raise ValueError(f"vendored {name} contains '</script'; it cannot be inlined")
    return code


def render_page(data: Mapping[str, Any]) -> str:
    """The self-contained HTML of the page."""
    template = string.Template(_resource("templates", "lineage.html"))
    return template.substitute(
        title=f"Column lineage of {data['project']}",
        css=_resource("templates", "lineage.css"),
        vendor="\n".join(
            f"<script>/* {name} (see vendor/README.md) */\n{_vendor_script(name)}\n</script>"
            for name in VENDOR_SCRIPTS
        ),
        data=_json_for_script(data),
        app=_resource("templates", "lineage.js"),
    )


def write_lineage_page(
    catalog: Catalog, out: str | Path, result: PolicyResult | None = None
) -> dict[str, Any]:
    """Evaluate the policy (unless given), write the page to ``out``; returns its summary."""
    if result is None:
        result = catalog.verdict()
    data = page_data(catalog, result)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_page(data), encoding="utf-8")
    tmp.replace(out)
    return data["summary"]
