"""The lineage page: one self-contained offline HTML file; its data (tags, restricted data,
gates, typed edges, violations); and, in a real browser, search and downstream highlighting."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from catalog.cli import main
from catalog.policy import evaluate
from catalog.reports import lineage_page
from catalog.reports.lineage_page import lineage_page_url, page_data, render_page
from catalog.settings import REPO_ROOT
from dagster_project.ui import lineage_page_http_url, start_reports_server

VENDOR = Path(lineage_page.__file__).parent / "vendor"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _embedded_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="lineage-data">(.*?)</script>', html, re.S)
    assert m, "the page has no embedded data"
    return json.loads(m.group(1))


def test_vendored_libraries_match_their_recorded_checksums_and_licences():
    readme = (VENDOR / "README.md").read_text()
    for name in lineage_page.VENDOR_SCRIPTS:
        digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        assert f"`{name}`" in readme and digest in readme, f"{name} differs from vendor/README.md"
    for licence in ("cytoscape", "cytoscape-dagre", "dagre", "graphlib"):
        assert "Permission is hereby granted" in (VENDOR / f"LICENSE.{licence}").read_text()


def test_page_is_self_contained_and_carries_tags_gates_edges_and_violations(mini_catalog):
    result = evaluate(mini_catalog.graph, mini_catalog.tags, mini_catalog.policy)
    html = render_page(page_data(mini_catalog, result))
    # offline: no external script, stylesheet, image or fetch; a CSP that forbids connecting
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html, re.I)
    assert "default-src 'none'" in html
    assert "sourceMappingURL" not in html
    assert "cytoscape-dagre" in html and "dagre" in html
    data = _embedded_data(html)
    columns = data["columns"]
    value = columns["markets.securities_holdings.market_value"]
    assert value["category"] == ["user.financial.securities"]
    assert value["purposes"] == ["essential.service"] and value["retention"] == "P10Y"
    assert value["restricted"] == ["gate:group_sharing"]
    assert columns["privacy.group_sharing_consents.consent"]["restricted"] == []
    nodes = {n["label"]: n for n in data["nodes"]}
    gate = nodes["int_investments_consented"]
    assert gate["gate"] == ["group_sharing"] and gate["gate_proof"] == {"group_sharing": "rows"}
    assert gate["layer"] == "intermediate" and nodes["marketing_features"]["layer"] == (
        "marts/marketing"
    )
    edges = {(e["s"], e["t"] or e["tn"]): e for e in data["edges"]}
    band = edges[
        ("int_investments_consented.securities_market_value", "marketing_features.securities_band")
    ]
    assert (band["type"], band["subtype"]) == ("INDIRECT", "CONDITIONAL")
    copied = edges[("int_investments_consented.national_id", "marketing_features.national_id")]
    assert (copied["type"], copied["subtype"]) == ("DIRECT", "IDENTITY")
    # the mart is not filtered by objections: the policy's violations are on the page
    assert data["summary"]["violations"] == len(result.violations) > 0
    assert {v["rule"] for v in data["violations"]} == {v.rule for v in result.violations}
    assert nodes["marketing_features"]["violations"]


def test_lineage_page_url_preselects_a_column_through_the_fragment(tmp_path):
    page = tmp_path / "reports" / "lineage.html"
    assert lineage_page_url(page) == page.resolve().as_uri()
    assert lineage_page_url(page, "markets.securities_holdings.market_value") == (
        page.resolve().as_uri() + "#markets.securities_holdings.market_value"
    )


def test_cli_report_writes_the_page_and_fails_with_one_line(mini_manifest_path, tmp_path):
    out = tmp_path / "reports" / "lineage.html"
    result = CliRunner().invoke(
        main, ["report", "--manifest", str(mini_manifest_path), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {out}: 9 datasets, 20 columns")
    assert _embedded_data(out.read_text())["summary"]["datasets"] == 9

    result = CliRunner().invoke(
        main,
        ["report", "--manifest", str(mini_manifest_path), "--policy", str(tmp_path / "none.yml")],
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot read the policy configuration")
    assert len(result.stderr.strip().splitlines()) == 1


# -- in a real browser (slow: the real project is compiled) ------------------------------------


@pytest.fixture(scope="module")
def browser_page():
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip(f"no browser: {CHROMIUM} is missing (apt-get install chromium; .ci/run does)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright Python package is not installed (.[dev])"
    )
    with sync_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1600, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


def _wait(page, expression: str, timeout_s: float = 15.0) -> None:
    """Poll ``expression`` (page.wait_for_function evaluates strings, which the page's CSP
    forbids; page.evaluate goes through the debugger protocol)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {expression}")
        page.wait_for_timeout(50)


def _open(context, url: str, allowed: tuple[str, ...] = ()):
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: (
            errors.append(f"request {r.url}")
            if not r.url.startswith(("file:", "data:", "blob:", "about:", *allowed))
            else None
        ),
    )
    page.goto(url)
    _wait(page, "window.lineage !== undefined && window.lineage.cy.nodes().length > 0")
    return page, errors


@pytest.mark.slow
def test_lineage_page_in_a_browser(real_project, browser_page, tmp_path):
    _, manifest_path = real_project
    out = tmp_path / "lineage.html"
    result = CliRunner().invoke(
        main,
        ["report", "--manifest", str(manifest_path), "--project-dir", "dbt", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output

    page, errors = _open(browser_page, lineage_page_url(out))
    assert page.evaluate("window.lineage.state.view") == "overview"
    assert page.evaluate("window.lineage.cy.nodes().length") > 40

    page.fill("#search", "market_value")
    page.wait_for_selector("#results button")
    found = page.eval_on_selector_all("#results button", "bs => bs.map(b => b.dataset.id)")
    assert "markets.securities_holdings.market_value" in found
    page.click('#results button[data-id="markets.securities_holdings.market_value"]')
    _wait(page, "window.lineage.state.view === 'column'")

    downstream = set(
        page.evaluate("window.lineage.cy.nodes('.downstream').map(n => n.data('column'))")
    )
    assert {
        "stg_markets__securities_holdings.market_value",
        "int_investments_consented.securities_value_band",
        "marketing_scoring_features.securities_value_band",
        "marketing_propensity_scores.score",
    } <= downstream
    assert page.evaluate("window.lineage.cy.nodes('.upstream').length") == 0  # a source column
    selected = page.evaluate("window.lineage.cy.nodes('.selected').map(n => n.data('column'))")
    assert selected == ["markets.securities_holdings.market_value"]
    assert page.locator("#downstream-list li").count() == len(downstream)
    assert "Securities (user.financial.securities)" in page.inner_text("#tags")
    # DIRECT solid, INDIRECT dashed, downstream edges coloured
    styles = page.evaluate(
        "[window.lineage.cy.edges('.direct')[0].style('line-style'),"
        " window.lineage.cy.edges('.indirect')[0].style('line-style'),"
        " window.lineage.cy.edges('.downstream').length]"
    )
    assert styles[0] == "solid" and styles[1] == "dashed" and styles[2] > 0
    # the gate model is marked, the restricted column has its colour
    assert page.evaluate(
        "window.lineage.cy.getElementById('n:model.fjordbank.int_investments_consented')"
        ".hasClass('gate')"
    )
    artifacts = REPO_ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / "lineage.png"))

    # DIRECT edges only: the holding is summed (DIRECT), the band is a CASE on the sum
    # (INDIRECT CONDITIONAL), so the walk stops at the sum
    page.check("#direct-only")
    _wait(page, "window.lineage.state.down.length === 2")
    assert page.evaluate("window.lineage.state.down") == [
        "stg_markets__securities_holdings.market_value",
        "int_investments_consented.securities_market_value",
    ]
    assert errors == []

    # a fragment preselects a column (the link from Dagster's asset metadata)
    column = "marketing_scoring_features.securities_value_band"
    page2, errors2 = _open(browser_page, lineage_page_url(out, column))
    assert page2.evaluate("window.lineage.state.selected") == {"kind": "column", "id": column}
    assert "int_investments_consented.securities_value_band" in page2.evaluate(
        "window.lineage.state.up"
    )
    assert errors2 == []

    # over HTTP, as the asset link from the UI opens it (the server `make ui` starts)
    server, thread = start_reports_server(out.parent, 0)
    try:
        port = server.server_address[1]
        url = lineage_page_http_url(port, "marketing_scoring_features")
        page3, errors3 = _open(browser_page, url, allowed=(f"http://127.0.0.1:{port}/",))
        assert page3.evaluate("window.lineage.state.selected.kind") == "dataset"
        assert page3.evaluate("window.lineage.state.selected.id").endswith(
            "marketing_scoring_features"
        )
        assert page3.url == url
        page3.goto(lineage_page_http_url(port, column))  # a column through the fragment too
        _wait(page3, "window.lineage.state.selected.kind === 'column'")
        assert page3.evaluate("window.lineage.state.selected") == {"kind": "column", "id": column}
        assert errors3 == []
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
