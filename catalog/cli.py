"""The ``catalog`` command line: ``lineage`` (the column lineage graph, or the walk from one
column), ``check`` (the privacy policy on it), and the compliance reports ``report`` (the lineage
page), ``ropa`` (the record of processing), ``access`` (one person's access report) and
``export`` (the data one person provided, for portability).

Each command loads the project with ``catalog.loader.load_catalog``. Exit codes: 0 done, 2 the
command could not run (one line on stderr saying why); ``check`` exits 1 on violations,
``access`` and ``export`` 1 when no data is held.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from catalog.discovery import discover_columns
from catalog.lineage import ColumnRef, Edge, EdgeType, LineageError, ProjectGraph
from catalog.lineage.graph import Path as LineagePath
from catalog.loader import Catalog, load_catalog
from catalog.manifest import (
    Manifest,
    ManifestError,
    compile_project,
    complete_incremental_branches,
    load_manifest,
)
from catalog.policy.config import PolicyConfigError
from catalog.taxonomy import TaxonomyError

EXIT_ERROR = 2


def fail_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can cause into one line on stderr and exit code 2."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (LineageError, ManifestError, PolicyConfigError, TaxonomyError) as e:
            message = str(e)
        except OSError as e:
            message = f"{e.strerror or e}: {e.filename}" if e.filename else str(e)
        for line in message.splitlines() or [message]:  # several failing models: one each
            click.echo(f"error: {line}", err=True)
        raise SystemExit(EXIT_ERROR)

    return wrapper


@click.group()
def main() -> None:
    """Fjordbank data catalog: column lineage and the privacy policy on it."""


def _remember_catalog_json(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """``--catalog-json`` is kept on the context, for ``load_project``."""
    ctx.meta["catalog_json"] = value


def project_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options that say where the dbt project or its manifest is."""
    for option in reversed(
        [
            click.option(
                "--project-dir",
                default=None,
                type=click.Path(file_okay=False),
                help="The dbt project [default: dbt]; with --manifest, where seed CSVs "
                "are read from.",
            ),
            click.option(
                "--profiles-dir",
                default=None,
                type=click.Path(file_okay=False),
                help="Where profiles.yml is (default: the project, if it has one).",
            ),
            click.option("--target", default=None, help="The dbt target to compile for."),
            click.option(
                "--manifest",
                "manifest_path",
                default=None,
                type=click.Path(dir_okay=False),
                help="A compiled manifest.json; the project is compiled when omitted.",
            ),
            click.option(
                "--catalog-json",
                default=None,
                type=click.Path(dir_okay=False),
                expose_value=False,
                callback=_remember_catalog_json,
                help="dbt's catalog.json (`dbt docs generate`), for the columns of sources "
                "the YAML does not declare [default: next to the manifest, or the project's "
                "target/; else they are read from the warehouse].",
            ),
        ]
    ):
        command = option(command)
    return command


DEFAULT_PROJECT_DIR = "dbt"


def load_project(
    project_dir: str | None,
    profiles_dir: str | None,
    target: str | None,
    manifest_path: str | None,
) -> Manifest:
    """The manifest given, else the project compiled into a throwaway target directory; the
    columns of sources and seeds the YAML does not declare discovered (``catalog.discovery``:
    ``--catalog-json``, catalog.json next to the manifest or in the project's target/, else
    the warehouse, read-only)."""
    if manifest_path:
        manifest = load_manifest(manifest_path, project_dir=project_dir)
        with tempfile.TemporaryDirectory(prefix="catalog-target-") as target_path:
            manifest = complete_incremental_branches(
                manifest,
                project_dir or manifest.root_path,
                profiles_dir=profiles_dir,
                target=target,
                target_path=target_path,
            )
    else:
        with tempfile.TemporaryDirectory(prefix="catalog-target-") as target_path:
            manifest = compile_project(
                project_dir or DEFAULT_PROJECT_DIR,
                profiles_dir=profiles_dir,
                target=target,
                target_path=target_path,
            )
    context = click.get_current_context(silent=True)
    return discover_columns(
        manifest,
        project_dir=project_dir or manifest.root_path,
        profiles_dir=profiles_dir,
        target=target,
        catalog_json=context.meta.get("catalog_json") if context else None,
    )


@main.command()
@project_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: the graph (nodes, edges) or the walk, for machines.",
)
@click.option(
    "--column",
    default=None,
    metavar="MODEL.COLUMN",
    help="Walk from one column (a model, seed or snapshot name, or source.table).",
)
@click.option(
    "--direction",
    type=click.Choice(["upstream", "downstream"]),
    default="upstream",
    show_default=True,
)
@fail_cleanly
def lineage(
    project_dir: str | None,
    profiles_dir: str | None,
    target: str | None,
    manifest_path: str | None,
    fmt: str,
    column: str | None,
    direction: str,
) -> None:
    """Print the column lineage graph of the project, or the walk from one column."""
    graph = load_catalog(load_project(project_dir, profiles_dir, target, manifest_path)).graph
    if column is None:
        click.echo(json.dumps(graph.to_json(), indent=2) if fmt == "json" else graph_text(graph))
        return
    start = resolve_column(graph, column)
    walk = graph.upstream(start) if direction == "upstream" else graph.downstream(start)
    if fmt == "json":
        click.echo(json.dumps(walk_json(start, direction, walk), indent=2))
    else:
        click.echo(walk_text(graph, start, direction, walk))


def resolve_column(graph: ProjectGraph, spec: str) -> ColumnRef:
    """``MODEL.COLUMN`` (or ``source.table.column``, or ``unique_id.column``) to a column."""
    node_key, dot, column = spec.rpartition(".")
    if not dot or not node_key or not column:
        raise LineageError(f"--column {spec!r} is not MODEL.COLUMN; name a model and a column")
    try:
        node = graph.node(node_key)
    except KeyError as e:  # "no node ..." / "... is ambiguous; use the unique_id"
        raise LineageError(f"--column {spec}: {e.args[0]}") from None
    # names resolve case-insensitively; a column keeps the database's case ("MixedCase")
    found = next((c for c in node.columns if c.lower() == column.lower()), None)
    if found is None:
        raise LineageError(
            f"{node.label} has no column {column}; its columns are {', '.join(node.columns)}"
        )
    return ColumnRef(node.unique_id, found)


def _edge_label(edge: Edge) -> str:
    masking = "masking, keyed hash" if edge.keyed else "masking"
    flags = [
        f for f, on in ((masking, edge.masking), ("restricts rows", edge.restricts_rows)) if on
    ]
    return f"{edge.type}/{edge.subtype}" + (f" ({', '.join(flags)})" if flags else "")


def _name(graph: ProjectGraph, ref: ColumnRef) -> str:
    node = graph.nodes.get(ref.node)
    return f"{node.label if node else ref.node}.{ref.column}"


def graph_text(graph: ProjectGraph) -> str:
    lines: list[str] = []
    for node in graph.nodes.values():
        origin = f", columns from {node.columns_from}" if node.columns_from else ""
        lines.append(f"{node.label} ({node.resource_type}{origin})")
        for column in node.columns:
            lines.append(f"  {column}")
            for edge in graph.inputs(ColumnRef(node.unique_id, column)):
                if edge.target_column is not None:
                    lines.append(f"    <- {_name(graph, edge.source)}  {_edge_label(edge)}")
        dataset = [e for e in graph.edges if e.target_node == node.unique_id and e.dataset_level]
        if dataset:
            lines.append("  (every row)")
            lines.extend(f"    <- {_name(graph, e.source)}  {_edge_label(e)}" for e in dataset)
    return "\n".join(lines)


def walk_json(start: ColumnRef, direction: str, walk: dict[ColumnRef, LineagePath]) -> Any:
    return {
        "column": {"node": start.node, "column": start.column},
        "direction": direction,
        "reached": [
            {
                "node": ref.node,
                "column": ref.column,
                "types": sorted({str(e.type) for _, e in path}),
                "path": [e.to_json() for _, e in path],
            }
            for ref, path in sorted(walk.items())
        ],
    }


def walk_text(
    graph: ProjectGraph, start: ColumnRef, direction: str, walk: dict[ColumnRef, LineagePath]
) -> str:
    lines = [f"{direction} of {_name(graph, start)}: {len(walk)} columns"]
    for ref, path in sorted(walk.items()):
        kind = "DIRECT" if all(e.type is EdgeType.DIRECT for _, e in path) else "INDIRECT"
        steps = " -> ".join(f"{_name(graph, c)} [{e.subtype}]" for c, e in path)
        lines.append(f"  {_name(graph, ref)}  {kind}  via {steps}")
    return "\n".join(lines)


@main.command()
@project_options
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--policy",
    "policy_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="The policy configuration [default: catalog/policy.yml].",
)
def check(
    project_dir: str | None,
    profiles_dir: str | None,
    target: str | None,
    manifest_path: str | None,
    fmt: str,
    policy_path: str | None,
) -> None:
    """Check the privacy policy (PRIVACY.md) on the project's column lineage.

    Exit 0 when it holds, 1 on violations, 2 when the check could not run.
    """

    from catalog.policy import check as policy_check

    try:
        if policy_path:  # a wrong policy file says so before the project is compiled
            from catalog.policy.config import load_policy_config

            load_policy_config(Path(policy_path))
        manifest = load_project(project_dir, profiles_dir, target, manifest_path)
        result = policy_check.check_manifest(manifest, Path(policy_path) if policy_path else None)
    except policy_check.CHECK_ERRORS as e:
        lines = policy_check.error_lines(e)
        if fmt == "json":
            click.echo(json.dumps({"error": "\n".join(lines), "errors": lines}))
        for line in lines:
            click.echo(f"error: {line}", err=True)
        raise SystemExit(policy_check.EXIT_ERROR) from None
    render = policy_check.render_json if fmt == "json" else policy_check.render_text
    click.echo(render(result))
    raise SystemExit(policy_check.exit_code(result))


@main.command("init-policy")
@click.option(
    "--project-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="The dbt project [default: dbt].",
)
@click.option(
    "--out",
    "out_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="The policy file to write [default: policy.yml in the project].",
)
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
@fail_cleanly
def init_policy(project_dir: str | None, out_path: str | None, force: bool) -> None:
    """Write a commented starting policy for a dbt project.

    Every section is commented out (so only the structural rules run until one is
    uncommented), with what the project's YAML declares as comments: its sources, the columns
    that look like identity numbers, the tables that look like consent logs. Never overwrites
    a file without --force. Exit 0 written, 2 could not write.
    """

    from catalog.policy.init import write_policy

    project = Path(project_dir or DEFAULT_PROJECT_DIR)
    out = Path(out_path) if out_path else project / "policy.yml"
    survey = write_policy(project, out, force=force)
    click.echo(
        f"wrote {out}: {len(survey.sources)} source table(s), "
        f"{len(survey.identity_columns())} identity-number-like column(s), "
        f"{len(survey.consent_tables())} consent-like table(s); every section is commented out "
        f"(structural rules only): run `catalog check --policy {out}`"
    )


# -- compliance reports (catalog/reports) ---------------------------------------------------------


def _report_errors() -> tuple[type[BaseException], ...]:
    """What the report commands turn into one line and exit code 2."""
    from catalog.national_id import InvalidNationalId
    from catalog.policy import PolicyError
    from catalog.policy.config import PolicyConfigError
    from catalog.pseudonym import PseudonymKeyMissing
    from catalog.reports.access import AccessError
    from catalog.reports.controller import ControllerConfigError
    from catalog.reports.ropa import RopaError
    from catalog.taxonomy import TaxonomyError

    return (
        AccessError,
        ControllerConfigError,
        InvalidNationalId,
        LineageError,
        ManifestError,
        PolicyConfigError,
        PolicyError,
        PseudonymKeyMissing,
        RopaError,
        TaxonomyError,
        OSError,
    )


_DUCKDB_LOCK = re.compile(r'Could not set lock on file "(?P<file>[^"]+)".*?\(PID (?P<pid>\d+)\)')


def _report_error_line(e: BaseException) -> str:
    if isinstance(e, OSError) and e.filename:
        return f"{e.strerror or e}: {e.filename}"
    line = " ".join(str(e).split()) or type(e).__name__
    locked = _DUCKDB_LOCK.search(line)
    if locked:  # a run writes the warehouse: say who, and what to do
        from catalog.runlock import holder_of

        holder = holder_of(Path(locked["file"]))
        who = holder.describe() if holder else f"pid {locked['pid']}"
        return (
            f"the warehouse {locked['file']} is being written ({who}); run this again when "
            "that run has finished"
        )
    return line


def _controller_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--controller",
        "controller_path",
        default=None,
        type=click.Path(dir_okay=False),
        help="The controller configuration [default: catalog/controller.yml].",
    )(command)


def _load_catalog(
    project_dir: str | None,
    profiles_dir: str | None,
    target: str | None,
    manifest_path: str | None,
    controller_path: str | None = None,
    policy_path: str | None = None,
) -> Catalog:
    """The catalog a report reads, its controller configuration read now (a wrong one stops
    every report, also one that would not need it)."""

    manifest = load_project(project_dir, profiles_dir, target, manifest_path)
    catalog = load_catalog(
        manifest,
        policy_path=Path(policy_path) if policy_path else None,
        controller_path=Path(controller_path) if controller_path else None,
    )
    _ = catalog.controller  # read now, see above
    return catalog


def _default_report_path() -> str:
    from catalog.settings import settings

    return str(settings().reports_dir / "lineage.html")


@main.command()
@project_options
@_controller_option
@click.option(
    "--policy",
    "policy_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="The policy configuration [default: catalog/policy.yml].",
)
@click.option(
    "--out",
    default=None,
    type=click.Path(dir_okay=False),
    help="Where to write the page [default: $FJORDBANK_DATA_DIR/reports/lineage.html, "
    "else the repository's data/reports/lineage.html].",
)
def report(
    project_dir: str | None,
    profiles_dir: str | None,
    target: str | None,
    manifest_path: str | None,
    controller_path: str | None,
    policy_path: str | None,
    out: str | None,
) -> None:
    """Write the lineage page: one self-contained HTML file that works offline.

    It shows the column lineage of the whole project (DIRECT and INDIRECT edges), each
    column's privacy tags, the restricted data and consent gates, and the policy's current
    violations. Exit 0 when written (violations are shown, not fatal), 2 when it could not be.
    """
    from catalog.reports.lineage_page import lineage_page_url, write_lineage_page

    out = out or _default_report_path()
    try:
        catalog = _load_catalog(
            project_dir, profiles_dir, target, manifest_path, controller_path, policy_path
        )
        summary = write_lineage_page(catalog, out)
    except _report_errors() as e:
        click.echo(f"error: {_report_error_line(e)}", err=True)
        raise SystemExit(EXIT_ERROR) from None
    click.echo(
        f"wrote {out}: {summary['datasets']} datasets, {summary['columns']} columns, "
        f"{summary['edges']} edges, {summary['violations']} policy violation(s)\n"
        f"open {lineage_page_url(out)}"
    )


@main.command()
@project_options
@_controller_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "csv", "json"]),
    default="md",
    show_default=True,
)
@click.option(
    "--out", default=None, type=click.Path(dir_okay=False), help="Write to a file, not stdout."
)
def ropa(
    project_dir: str | None,
    profiles_dir: str | None,
    target: str | None,
    manifest_path: str | None,
    controller_path: str | None,
    fmt: str,
    out: str | None,
) -> None:
    """The record of processing activities (GDPR Art. 30(1)), one activity per purpose.

    Generated from the column tags, the lineage and the controller configuration; an empty
    item is an error. Exit 0 written, 2 incomplete or could not run (one line saying what to
    fill in).
    """

    from catalog.reports import ropa as ropa_report

    try:
        catalog = _load_catalog(project_dir, profiles_dir, target, manifest_path, controller_path)
        activities = ropa_report.record_of_processing(catalog)
        text = {
            "md": lambda: ropa_report.render_markdown(activities, catalog),
            "csv": lambda: ropa_report.render_csv(activities),
            "json": lambda: ropa_report.render_json(activities, catalog),
        }[fmt]()
        if out:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except _report_errors() as e:
        click.echo(f"error: {_report_error_line(e)}", err=True)
        raise SystemExit(EXIT_ERROR) from None
    if out:
        click.echo(f"wrote {out}: {len(activities)} processing activities")
    else:
        click.echo(text, nl=not text.endswith("\n"))


@main.command()
@project_options
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option(
    "--warehouse",
    default=None,
    type=click.Path(dir_okay=False),
    help="The DuckDB warehouse [default: $FJORDBANK_WAREHOUSE].",
)
@click.option("--today", default=None, help="The day expiry is counted on (YYYY-MM-DD) [today].")
def retention(
    project_dir: str | None,
    profiles_dir: str | None,
    target: str | None,
    manifest_path: str | None,
    fmt: str,
    warehouse: str | None,
    today: str | None,
) -> None:
    """Every table's retention, the column it runs from, its rows and the rows expired today.

    Read-only on the warehouse. Exit 0 listed, 2 a declaration is wrong or the warehouse
    cannot be read (one line saying which table and key).
    """
    import datetime as dt

    import duckdb

    from catalog.retention import RetentionError, load_declarations
    from catalog.retention import report as retention_report
    from catalog.settings import settings

    try:
        day = dt.date.fromisoformat(today) if today else dt.date.today()
    except ValueError:
        click.echo(f"error: --today {today!r} is not a date; give YYYY-MM-DD", err=True)
        raise SystemExit(EXIT_ERROR) from None
    where = Path(warehouse) if warehouse else settings().warehouse
    try:
        declarations = load_declarations(
            load_project(project_dir, profiles_dir, target, manifest_path)
        )
        if not where.is_file():
            raise FileNotFoundError(2, "no warehouse (run the platform first)", str(where))
        with duckdb.connect(str(where), read_only=True) as conn:
            rows = retention_report.retention_rows(
                conn, declarations, day, settings().file_quarantine_dir
            )
    except (*_report_errors(), RetentionError, duckdb.Error) as e:
        click.echo(f"error: {_report_error_line(e)}", err=True)
        raise SystemExit(EXIT_ERROR) from None
    if fmt == "json":
        click.echo(retention_report.render_json(rows), nl=False)
    else:
        click.echo(retention_report.render_markdown(rows, day), nl=False)


def _person_data_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--warehouse, --key-file and --synthetic: where a person's data is read (access, export,
    erase)."""
    options = [
        click.option(
            "--warehouse",
            default=None,
            type=click.Path(dir_okay=False),
            help="The DuckDB warehouse [default: $FJORDBANK_WAREHOUSE, else "
            "$FJORDBANK_DATA_DIR/warehouse.duckdb, else the repository's data/warehouse.duckdb].",
        ),
        click.option(
            "--key-file",
            default=None,
            type=click.Path(dir_okay=False),
            help="The pseudonymisation key [default: $FJORDBANK_PSEUDONYM_KEY, else "
            "$FJORDBANK_DATA_DIR/secrets/pseudonym.key]; without it keyed-hash pseudonyms are "
            "found only where they sit next to the number.",
        ),
        click.option(
            "--synthetic/--no-synthetic",
            default=None,
            help="Accept synthetic test numbers (month + 80) [default: $FJORDBANK_SYNTHETIC_DATA].",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _access_key(key_file: str | None) -> bytes | None:
    """The pseudonymisation key for ``catalog access`` (None: pseudonyms are not computed); a
    ``--key-file`` that is not there is an error when ``$FJORDBANK_PSEUDONYM_KEY`` is unset."""

    from catalog.pseudonym import configured_key
    from catalog.reports.access import AccessError

    path = Path(key_file) if key_file else None
    key = configured_key(path)
    if key is None and path is not None and not path.is_file():
        raise AccessError(f"no pseudonymisation key file at {path}; give the right --key-file")
    return key


@main.command()
@click.argument("national_id")
@project_options
@_controller_option
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@_person_data_options
def access(
    national_id: str,
    project_dir: str | None,
    profiles_dir: str | None,
    target: str | None,
    manifest_path: str | None,
    controller_path: str | None,
    fmt: str,
    warehouse: str | None,
    key_file: str | None,
    synthetic: bool | None,
) -> None:
    """The access report (GDPR Art. 15) for one person, by NATIONAL_ID.

    Every table of the warehouse holding data about the person, each column's value with its
    category, purposes, legal basis, retention and source company; the set-aside delivery files
    holding the person's identifiers (file, lines, reason); the profiling done and the
    recipients. Rows the controller configuration's `access.withheld` exempts (an open fraud
    case) are left out without a trace. Exit 0 data found, 1 no data held (the report says
    so), 2 invalid number or the report could not be made.
    """

    from catalog.national_id import check_national_id
    from catalog.reports import access as access_report
    from catalog.settings import settings

    if synthetic is None:
        synthetic = settings().synthetic_data
    try:
        # The number first: a typo needs no compile.
        check_national_id(national_id, allow_synthetic=synthetic)
        catalog = _load_catalog(project_dir, profiles_dir, target, manifest_path, controller_path)
        result = access_report.access_report(
            catalog,
            national_id,
            Path(warehouse) if warehouse else settings().warehouse,
            key=_access_key(key_file),
            allow_synthetic=synthetic,
            file_quarantine=settings().file_quarantine_dir,
        )
    except _report_errors() as e:
        click.echo(f"error: {_report_error_line(e)}", err=True)
        raise SystemExit(access_report.EXIT_ERROR) from None
    render = access_report.render_json if fmt == "json" else access_report.render_markdown
    click.echo(render(result))
    if not result.found:
        click.echo(f"no data held about {result.national_id} in {result.warehouse}", err=True)
    raise SystemExit(result.exit_code)


@main.command()
@click.argument("national_id")
@project_options
@_controller_option
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True
)
@click.option(
    "--out",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write to this file instead of stdout; a path ending in .zip (with --format csv) holds "
    "one CSV per section.",
)
@_person_data_options
def export(
    national_id: str,
    project_dir: str | None,
    profiles_dir: str | None,
    target: str | None,
    manifest_path: str | None,
    controller_path: str | None,
    fmt: str,
    out: str | None,
    warehouse: str | None,
    key_file: str | None,
    synthetic: bool | None,
) -> None:
    """The portability export (GDPR Art. 20) for one person, by NATIONAL_ID.

    The data the person provided, as the controller configuration's `portability` declares it
    (identity and contact details, group-sharing consents, objections, linked cookie consents),
    as JSON or CSV. Exit 0 data found, 1 nothing held, 2 invalid number or the export could not
    be made.
    """

    from catalog.national_id import check_national_id
    from catalog.reports import export as portability
    from catalog.reports.access import AccessError
    from catalog.settings import settings

    if synthetic is None:
        synthetic = settings().synthetic_data
    where = Path(warehouse) if warehouse else None
    try:
        check_national_id(national_id, allow_synthetic=synthetic)
        if out and Path(out).suffix.lower() == ".zip" and fmt != "csv":
            raise AccessError(f"{out}: a .zip export holds CSV files; give --format csv")
        catalog = _load_catalog(project_dir, profiles_dir, target, manifest_path, controller_path)
        where = where or settings().warehouse
        result = portability.portability_export(
            catalog, national_id, where, key=_access_key(key_file), allow_synthetic=synthetic
        )
        if out:
            portability.write_export(result, Path(out), fmt)
    except _report_errors() as e:
        click.echo(f"error: {_report_error_line(e)}", err=True)
        raise SystemExit(EXIT_ERROR) from None
    if out:
        rows = sum(len(s.rows) for s in result.sections)
        click.echo(f"wrote {out}: {rows} rows in {len(result.sections)} sections")
    else:
        text = portability.render_json(result) if fmt == "json" else portability.render_csv(result)
        click.echo(text, nl=not text.endswith("\n"))
    if not result.found:
        click.echo(f"no data held about {result.national_id} in {where}", err=True)
    raise SystemExit(result.exit_code)


@main.command()
@click.argument("national_id")
@project_options
@click.option("--apply", is_flag=True, help="Carry the erasure out (default: a dry run).")
@click.option(
    "--request-id",
    default=None,
    help="The request's id, named in the receipt [default: manual-<UTC time>].",
)
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option(
    "--landing",
    default=None,
    type=click.Path(file_okay=False),
    help="The landing zone [default: $FJORDBANK_LANDING_DIR, else $FJORDBANK_DATA_DIR/landing].",
)
@_person_data_options
def erase(
    national_id: str,
    project_dir: str | None,
    profiles_dir: str | None,
    target: str | None,
    manifest_path: str | None,
    apply: bool,
    request_id: str | None,
    fmt: str,
    warehouse: str | None,
    landing: str | None,
    key_file: str | None,
    synthetic: bool | None,
) -> None:
    """Erase one person (GDPR Art. 17), by NATIONAL_ID: a dry run unless --apply.

    Finds the person through the identity columns and the lineage (keyed ids included), removes
    their landing records, raw rows, quarantine rows and lines of set-aside files, keeps the
    rows under a legal hold (see catalog/erasure/holds.yml) and puts their identifiers on the
    suppression list, so the next build rebuilds every output without them and a re-delivery is
    dropped at ingest. Writes the receipt to
    $FJORDBANK_DATA_DIR/privacy/erasure/receipts/<request id>.json. Prints counts, never values.
    Exit 0 done (or would be done), 1 nothing held about the person, 2 invalid input or the
    erasure could not be carried out.
    """

    import duckdb

    from catalog.erasure.errors import ErasureError
    from catalog.erasure.receipt import RECEIPTS_DIR, Receipt, render_json, render_markdown
    from catalog.erasure.suppression import suppression_path
    from catalog.national_id import check_national_id
    from catalog.pseudonym import pseudonym_key
    from catalog.retention import RetentionError
    from catalog.retention.purge import PurgeError
    from catalog.runlock import WarehouseUnwritable, warehouse_lock
    from catalog.settings import settings

    s = settings()
    if synthetic is None:
        synthetic = s.synthetic_data
    where = Path(warehouse) if warehouse else s.warehouse
    try:
        check_national_id(national_id, allow_synthetic=synthetic)
        if request_id is not None:
            Receipt.check_request_id(request_id)
        if not where.is_file():
            raise ErasureError(f"no warehouse at {where}; run the platform or give --warehouse")
        key = pseudonym_key(Path(key_file) if key_file else None)
        catalog = _load_catalog(project_dir, profiles_dir, target, manifest_path)
        lock = (
            warehouse_lock(where, "catalog erase", on_wait=lambda m: click.echo(m, err=True))
            if apply
            else contextlib.nullcontext()
        )
        with lock:
            receipt = _erase_locked(
                catalog,
                where,
                Path(landing) if landing else s.landing_dir,
                national_id,
                key=key,
                allow_synthetic=synthetic,
                apply=apply,
                receipts_dir=s.data_dir / RECEIPTS_DIR,
                suppression_file=suppression_path(s.data_dir),
                request_id=request_id,
                file_quarantine=s.file_quarantine_dir,
            )
    except (
        *_report_errors(),
        ErasureError,
        RetentionError,
        PurgeError,
        duckdb.Error,
        WarehouseUnwritable,
    ) as e:
        click.echo(f"error: {_report_error_line(e)}", err=True)
        raise SystemExit(EXIT_ERROR) from None
    click.echo((render_json if fmt == "json" else render_markdown)(receipt), nl=False)
    if receipt.path is not None:
        click.echo(f"receipt: {receipt.path}", err=True)
    if not receipt.found:
        click.echo(f"nothing held about the person in {where}", err=True)
    raise SystemExit(receipt.exit_code)


def _erase_locked(catalog: Catalog, where: Path, *args: Any, **kwargs: Any) -> Any:
    """The erasure on the warehouse at ``where`` (its writer lock held for --apply)."""
    import duckdb

    from catalog.erasure.engine import erase as erase_person

    conn = duckdb.connect(str(where))
    try:
        return erase_person(catalog, conn, *args, **kwargs)
    finally:
        conn.close()
