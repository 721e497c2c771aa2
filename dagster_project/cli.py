"""`fjordbank`: the platform's own commands (`make run` and `make ui` call them).

fjordbank generate --persons 10000 --seed 42 --out data/landing
fjordbank run [--persons N] [--seed S] [--no-wait]
                                           generate if needed, materialise, check, summarise
fjordbank ui                               the Dagster UI on 127.0.0.1
fjordbank sweep [--apply] [--today D]      delete what has expired (retention), dry run by default;
                                           --apply then rebuilds the outputs

`run` and `sweep` write the warehouse, so they hold its writer lock
(catalog/runlock.py): a second one waits, saying who holds it, or with --no-wait exits 2
with that one line.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from catalog.settings import DBT_TARGET_ENV, REPO_ROOT, Settings, settings
from dagster_project.project import DBT_PROJECT_DIR


def _prepare_environment(s: Settings) -> None:
    """Project-local Dagster storage with telemetry off and runs queued one at a time, and the
    pseudonymisation key. A place that cannot be written stops here: one line, exit 2."""
    os.environ.setdefault("DAGSTER_HOME", str(s.dagster_home))
    home = Path(os.environ["DAGSTER_HOME"])
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    try:
        home.mkdir(parents=True, exist_ok=True)
        _write_dagster_yaml(home / "dagster.yaml")
        if not s.pseudonym_key and not s.key_file.exists():
            s.key_file.parent.mkdir(parents=True, exist_ok=True)
            s.key_file.touch(mode=0o600)
            s.key_file.write_text(secrets.token_hex(32) + "\n")
            click.echo(
                f"created a pseudonymisation key in {s.key_file} (keep it secret and stable)"
            )
    except OSError as exc:
        where = exc.filename or home
        click.echo(
            f"error: cannot write in {where}: {exc.strerror or exc}; make it writable (or point "
            "FJORDBANK_DATA_DIR / DAGSTER_HOME at a writable place) and run again",
            err=True,
        )
        raise SystemExit(2) from None


def dagster_settings(existing: dict | None) -> dict:
    """The instance settings the platform needs, merged into the user's: telemetry off unless
    the user set it, and at most one run in progress (the warehouse has one writer), so runs
    launched by the schedule or the UI wait in Dagster's run queue instead of failing.

    The limit goes where the user's file keeps it: ``run_queue.max_concurrent_runs`` when that
    key is there (Dagster refuses it next to ``concurrency.runs``), else
    ``concurrency.runs.max_concurrent_runs``. Every other setting is kept.

    >>> dagster_settings(None)
    {'telemetry': {'enabled': False}, 'concurrency': {'runs': {'max_concurrent_runs': 1}}}
    >>> dagster_settings({"telemetry": {"enabled": True}, "run_queue": {"max_concurrent_runs": 5}})
    {'telemetry': {'enabled': True}, 'run_queue': {'max_concurrent_runs': 1}}
    """
    merged = dict(existing or {})
    merged.setdefault("telemetry", {"enabled": False})
    run_queue = merged.get("run_queue")
    if isinstance(run_queue, dict) and "max_concurrent_runs" in run_queue:
        merged["run_queue"] = {**run_queue, "max_concurrent_runs": 1}
        return merged
    concurrency = dict(merged.get("concurrency") or {})
    concurrency["runs"] = {**(concurrency.get("runs") or {}), "max_concurrent_runs": 1}
    merged["concurrency"] = concurrency
    return merged


def _write_dagster_yaml(path: Path) -> None:
    """Create or update DAGSTER_HOME/dagster.yaml with :func:`dagster_settings` (rewritten only
    when something must change; a malformed file stops with one line, untouched)."""
    import yaml

    try:
        existing = yaml.safe_load(path.read_text()) if path.exists() else None
    except (yaml.YAMLError, OSError) as exc:
        raise click.ClickException(
            f"{path} cannot be read ({' '.join(str(exc).split())[:120]}); fix or remove it"
        ) from None
    if existing is not None and not isinstance(existing, dict):
        raise click.ClickException(f"{path} is not a YAML mapping; fix or remove it")
    wanted = dagster_settings(existing)
    if wanted == existing:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(wanted, sort_keys=False))
    os.replace(tmp, path)


def _landing_present(landing: Path) -> bool:
    return landing.is_dir() and any(landing.glob("*/*/*.csv"))


@click.group()
def main() -> None:
    """Fjordbank group register: generate landing data, run the platform, open the UI."""


@main.command()
@click.option("--persons", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Landing root (default: $FJORDBANK_LANDING_DIR or data/landing).",
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Delivery date (default: today).",
)
def generate(persons: int, seed: int, out: Path | None, as_of: dt.datetime | None) -> None:
    """Write synthetic landing files for PERSONS persons, deterministic for a seed."""
    from dagster_project.landing.generate import generate as run_generator

    out = out or settings().landing_dir
    try:
        rows = run_generator(
            out, persons=persons, seed=seed, as_of=as_of.date() if as_of else None, progress=True
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {sum(rows.values()):,} rows in {len(rows)} tables under {out}")


_WAIT_OPTION = click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="When another run holds the warehouse: wait for it, or exit 2 at once.",
)


@main.command()
@click.option("--persons", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--target",
    type=click.Choice(["duckdb", "spark"]),
    default=None,
    help="dbt target (default: $DBT_TARGET or duckdb).",
)
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Reload every delivery file and rebuild every dbt model in full (default: the daily "
    "run, which reads only new or changed files and extends the event models).",
)
@_WAIT_OPTION
def run(persons: int, seed: int, target: str | None, full_refresh: bool, wait: bool) -> None:
    """Generate landing data if none is there, materialise every asset, check the policy.

    The daily run: the ingest reads only the delivery files it has not loaded (or that changed
    or went), the event models take only the new rows; --full-refresh rebuilds everything.
    Holds the warehouse's writer lock throughout; prints a bar per phase and a summary; the
    full log (Dagster's and dbt's events) goes to <data dir>/logs/run-<timestamp>.log."""
    if target:
        os.environ[DBT_TARGET_ENV] = target
    s = settings()
    _prepare_environment(s)
    with _writer_lock(s, "fjordbank run", wait=wait):
        _check_writable(s)
        if _landing_present(s.landing_dir):
            click.echo(f"using the landing data already in {s.landing_dir}")
        else:
            click.echo(f"no landing data in {s.landing_dir}: generating {persons:,} persons")
            from dagster_project.landing.generate import generate as run_generator
            from dagster_project.progress import interactive

            try:
                run_generator(s.landing_dir, persons=persons, seed=seed, progress=interactive())
            except ValueError as exc:
                raise click.ClickException(str(exc)) from None
            click.echo("generate: done")

        ok, log_file, failures = _materialise(s, "fjordbank run", full_refresh=full_refresh)
        check_rc = _policy_check(s)
        report_rc = _lineage_page(s)
        _summary(s, log_file)
    if not ok:
        _failed(failures, log_file)
    if check_rc != 0:
        raise click.ClickException("catalog check did not pass (see above)")
    if report_rc != 0:
        raise click.ClickException("catalog report could not write the lineage page (see above)")


@contextmanager
def _writer_lock(s: Settings, command: str, *, wait: bool) -> Iterator[None]:
    """The warehouse's writer lock, or exit 2 with one line (busy with --no-wait, or the place
    cannot be written)."""
    from catalog.runlock import WarehouseBusy, WarehouseUnwritable, warehouse_lock

    try:
        with warehouse_lock(s.warehouse, command, wait=wait, on_wait=click.echo):
            yield
    except WarehouseBusy as exc:
        click.echo(f"error: the warehouse {s.warehouse} is busy: {exc}; try again later", err=True)
        raise SystemExit(2) from None
    except WarehouseUnwritable as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


def _check_writable(s: Settings) -> None:
    """Open the DuckDB warehouse for writing once before anything runs: a read-only file or
    folder, a full disk, or a reader that keeps it open past $FJORDBANK_WAREHOUSE_WAIT stops
    here with one line (exit 2) instead of failing every step."""
    from catalog.settings import SettingsError
    from dagster_project.resources import WarehouseError, connect_waiting, storage_problem
    from dagster_project.spark import is_spark

    if is_spark(s.dbt_target):
        return
    try:
        s.warehouse.parent.mkdir(parents=True, exist_ok=True)
        conn = connect_waiting(s.warehouse, wait=s.warehouse_wait, on_wait=click.echo)
        try:  # DuckDB writes only when there is something to write: make it
            conn.execute("create schema if not exists quarantine")
            conn.execute("checkpoint")
        finally:
            conn.close()
    except (WarehouseError, SettingsError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    except Exception as exc:
        problem = storage_problem(s.warehouse, exc)
        if problem is None:
            raise
        click.echo(f"error: {problem}", err=True)
        raise SystemExit(2) from None


@main.command()
@click.option("--apply", "apply_", is_flag=True, help="Delete (default: a dry run that counts).")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day expiry is counted on (default: today).",
)
@click.option(
    "--rebuild/--no-rebuild",
    default=True,
    show_default=True,
    help="After --apply, rebuild the outputs from what remains.",
)
@_WAIT_OPTION
def sweep(apply_: bool, today: dt.datetime | None, rebuild: bool, wait: bool) -> None:
    """Delete the rows whose retention has expired from the landing files, raw tables and
    quarantine (a dry run unless --apply); prints the counts per table and place.

    With --apply it writes reports/sweep-<date>.json (counts, never values), checks that
    nothing expired is left, then rebuilds the outputs from what remains (the build_everything
    job; --no-rebuild leaves that to the next run). The daily schedule does the same (daily_run).
    It holds the warehouse's writer lock, as `fjordbank run` does (a dry run too: it ingests a
    delivery not yet ingested before counting).
    """
    s = settings()
    if not s.warehouse.is_file() and not apply_:
        raise click.ClickException(f"no warehouse at {s.warehouse}; run `fjordbank run` first")
    if apply_:
        _prepare_environment(s)
    command = "fjordbank sweep --apply" if apply_ else "fjordbank sweep"
    with _writer_lock(s, command, wait=wait):
        _sweep(s, today, apply_=apply_, rebuild=apply_ and rebuild)


def _sweep(s: Settings, today: dt.datetime | None, *, apply_: bool, rebuild: bool) -> None:
    import duckdb

    from catalog.retention import RetentionError
    from catalog.retention.purge import PurgeError
    from catalog.retention.sweep import render_text
    from dagster_project.assets.sweep import run_sweep
    from dagster_project.landing.deliveries import IngestError
    from dagster_project.project import dbt_project
    from dagster_project.resources import WarehouseError, connect_waiting

    day = today.date() if today else dt.date.today()
    if not s.warehouse.is_file() and not apply_:
        raise click.ClickException(f"no warehouse at {s.warehouse}; run `fjordbank run` first")
    try:
        manifest = Path(dbt_project().manifest_path)
        wait = s.warehouse_wait
        with connect_waiting(s.warehouse, wait=wait, on_wait=click.echo) as conn:
            result, left, report = run_sweep(conn, manifest, day, apply=apply_, s=s)
    except (
        PurgeError,
        IngestError,
        RetentionError,
        WarehouseError,
        ValueError,
        duckdb.Error,
    ) as exc:
        click.echo(f"error: {' '.join(str(exc).split())}", err=True)
        raise SystemExit(2) from None
    click.echo(render_text(result), nl=False)
    if report is not None:
        click.echo(f"wrote {report}")
    if left:
        tables = ", ".join(sorted(left))
        raise click.ClickException(f"expired rows are left after the sweep in {tables}")
    if apply_ and rebuild:
        ok, log_file, failures = _materialise(s, "fjordbank sweep --apply")
        if not ok:
            _failed(failures, log_file, what="the rebuild after the sweep")


def _failed(failures: list[tuple[str, str]], log_file: Path, what: str = "the Dagster run") -> None:
    """The failed steps' one-line reasons, then exit 1 naming the log file."""
    for step, reason in failures:
        click.echo(f"failed: {step}: {reason}", err=True)
    raise click.ClickException(f"{what} failed; the full log: {log_file}")


def _materialise(
    s: Settings, command: str, *, full_refresh: bool = False
) -> tuple[bool, Path, list[tuple[str, str]]]:
    """Execute the build_everything job through Dagster, recorded in DAGSTER_HOME: a bar per
    phase on the console, every event in the run's log file; ``full_refresh`` tags the run to
    reload every file and rebuild every model. Returns (success, log file, the failed steps
    with their one-line reasons)."""
    import dagster as dg

    from dagster_project.assets.ingest import FULL_REFRESH_TAG
    from dagster_project.definitions import defs
    from dagster_project.progress import KEEP_RUN_LOGS, RunProgress, log_file_for, prune_run_logs

    click.echo(
        "materialising every asset through Dagster (job build_everything"
        + (", full refresh) ..." if full_refresh else ") ...")
    )
    log_file = log_file_for(s.data_dir)
    prune_run_logs(log_file.parent, keep=KEEP_RUN_LOGS - 1)  # and this run's makes 20
    job = defs().resolve_job_def("build_everything")
    phase_of, totals = _phases(job)
    with dg.DagsterInstance.get() as instance:
        _fail_orphaned_runs(instance)
        with RunProgress(log_file, phase_of, totals) as progress:
            job = job.with_logger_defs({"fjordbank_progress": progress.logger_definition()})
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config={"loggers": {"fjordbank_progress": {}}},
                tags={
                    "fjordbank/command": command,
                    **({FULL_REFRESH_TAG: "true"} if full_refresh else {}),
                },
            )
            failures = list(progress.failures)
    if not failures and not result.success:
        failures = [("run", "failed before any step (see the log)")]
    click.echo(f"Dagster run {result.run_id}: {'success' if result.success else 'FAILURE'}")
    return result.success, log_file, failures


def _fail_orphaned_runs(instance) -> None:
    """Mark as failed the Dagster runs left in progress by a process that is gone (a `fjordbank
    run` or a run worker killed with -9): Dagster counts them against the run queue's limit of
    one, so they would keep every queued run waiting. Called while this process holds the
    warehouse's writer lock, on the instance's own host."""
    import dagster as dg

    from catalog.runlock import process_alive

    active = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=active)):
        run = record.dagster_run
        starts = instance.get_records_for_run(
            run_id=run.run_id, of_type=dg.DagsterEventType.RUN_START, limit=1
        ).records
        event = starts[0].event_log_entry.dagster_event if starts else None
        pid = event.pid if event is not None else None
        if pid is None or pid == os.getpid() or process_alive(pid):
            continue
        instance.report_run_failed(
            run, f"its process (pid {pid}) is gone: marked failed by the next fjordbank run"
        )
        click.echo(
            f"Dagster run {run.run_id[:8]} was left running by pid {pid}, which is gone: "
            "marked failed"
        )


def _phases(job) -> tuple[Callable[[str], str], dict[str, int]]:
    """Which phase each step of the job belongs to, and how many each phase counts: the ingest
    step (its landing tables), the dbt step (its models, seeds, snapshots and tests), the
    erasure/sweep steps ("prepare") and the row checks (every other step: each of its checks,
    one output of its op each)."""
    import json

    from dagster_project.assets.erasure import ERASURE_KEY
    from dagster_project.assets.ingest import INGEST_STEP
    from dagster_project.assets.sweep import SWEEP_KEY
    from dagster_project.landing.contract import TABLES
    from dagster_project.project import dbt_project

    prepare = {ERASURE_KEY.to_python_identifier(), SWEEP_KEY.to_python_identifier()}
    dbt_step = "fjordbank_dbt"

    def phase_of(step: str) -> str:
        if step == INGEST_STEP:
            return "ingest"
        if step in prepare:
            return "prepare"
        if step == dbt_step:
            return "dbt"
        return "checks"

    totals: dict[str, int] = {}
    for node in job.graph.nodes:
        phase = phase_of(node.name)
        n = {"ingest": len(TABLES), "checks": len(node.definition.output_defs)}.get(phase, 1)
        totals[phase] = totals.get(phase, 0) + n
    nodes = json.loads(Path(dbt_project().manifest_path).read_text())["nodes"].values()
    kinds = {"model", "seed", "snapshot", "test"}
    totals["dbt"] = sum(1 for n in nodes if n.get("resource_type") in kinds)
    return phase_of, totals


def _catalog(*args: str) -> int:
    """Run a ``catalog`` command on the manifest compiled for this run."""
    from dagster_project.project import dbt_project

    manifest = dbt_project().manifest_path
    cmd = [sys.executable, "-m", "catalog", *args, "--project-dir", str(DBT_PROJECT_DIR)]
    return subprocess.call([*cmd, "--manifest", str(manifest)], cwd=REPO_ROOT)


def _policy_check(s: Settings) -> int:
    click.echo("catalog check (privacy policy on column lineage) ...")
    return _catalog("check")


def _lineage_page(s: Settings) -> int:
    out = s.reports_dir / "lineage.html"
    click.echo(f"catalog report (column-lineage page) -> {out}")
    return _catalog("report", "--out", str(out))


def _row_counts(s: Settings) -> list[tuple[str, str, int]]:
    """(schema, table, rows) of every table of the target's warehouse."""
    from dagster_project.spark import is_spark

    if is_spark(s.dbt_target):
        from dagster_project.spark import SparkUnavailable, spark_session, table_counts

        try:
            return table_counts(spark_session(s))
        except SparkUnavailable as exc:
            click.echo(f"no row counts: {exc}", err=True)
            return []
    import duckdb

    conn = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        tables = conn.execute(
            """
            select table_schema, table_name
            from information_schema.tables
            where table_type = 'BASE TABLE'
            order by table_schema, table_name
            """
        ).fetchall()
        return [
            (schema, name, conn.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0])
            for schema, name in tables
        ]
    finally:
        conn.close()


def _summary(s: Settings, log_file: Path | None = None) -> None:
    if not s.warehouse.exists():
        if log_file is not None:
            click.echo(f"run log:       {log_file}")
        return
    click.echo(f"\nrow counts ({s.dbt_target})")
    for schema, name, n in _row_counts(s):
        click.echo(f"  {schema + '.' + name:<55} {n:>12,}")
    _retention_line(s)
    _set_aside_and_withheld(s)
    click.echo(
        f"\nwarehouse:     {s.spark_warehouse_dir if s.dbt_target == 'spark' else s.warehouse}\n"
        f"landing:       {s.landing_dir}\n"
        f"dagster home:  {os.environ.get('DAGSTER_HOME', s.dagster_home)}\n"
        f"lineage page:  {s.reports_dir / 'lineage.html'}\n"
        f"               (with make ui: {_lineage_url(s)})\n"
        f"lineage events: {s.openlineage_dir / 'events.jsonl'}\n"
        + (f"run log:       {log_file}\n" if log_file is not None else "")
        + "open the UI:   make ui   (http://127.0.0.1:3000)"
    )


def _lineage_url(s: Settings) -> str:
    from catalog.settings import SettingsError
    from dagster_project.ui import lineage_page_http_url

    try:
        return lineage_page_http_url(s.lineage_port)
    except SettingsError as exc:
        return f"no server: {exc}"


_LISTED = 10  # set-aside files named in the summary; the rest are counted


def _set_aside_and_withheld(s: Settings) -> None:
    """The delivery files set aside (not loaded) and the outputs withheld for restricting
    privacy events that could not be applied: what needs someone's attention after a run."""
    import duckdb

    from catalog.file_quarantine import set_aside_files
    from dagster_project.assets.withheld import withheld_outputs
    from dagster_project.project import dbt_project

    files = set_aside_files(s.file_quarantine_dir)
    if files:
        click.echo(
            f"\nset aside: {len(files)} delivery file(s) could not be read and were not loaded "
            "(fix each and deliver it again; README, 'What happens when things go wrong'):"
        )
        for f in files[:_LISTED]:
            click.echo(f"  {f.to_text()}")
        if len(files) > _LISTED:
            click.echo(f"  ... and {len(files) - _LISTED} more under {s.file_quarantine_dir}")
    if s.dbt_target != "duckdb":
        return
    try:
        withheld = withheld_outputs(s.warehouse, Path(dbt_project().manifest_path))
    except (duckdb.Error, OSError, ValueError) as exc:
        click.echo(f"\nwithheld outputs: could not be read: {exc}", err=True)
        return
    if withheld:
        click.echo(f"\nWITHHELD: {withheld.summary()}")


def _retention_line(s: Settings) -> None:
    """One line: how many rows are past their retention today (the daily schedule sweeps them,
    or `fjordbank sweep --apply`)."""
    if s.dbt_target != "duckdb":
        return
    import duckdb

    from catalog.manifest import load_manifest
    from catalog.retention import RetentionError, load_declarations
    from catalog.retention.report import retention_rows
    from dagster_project.project import dbt_project

    try:
        declarations = load_declarations(load_manifest(dbt_project().manifest_path))
        with duckdb.connect(str(s.warehouse), read_only=True) as conn:
            rows = retention_rows(conn, declarations, dt.date.today(), s.file_quarantine_dir)
    except (RetentionError, duckdb.Error, OSError) as exc:
        click.echo(f"\nretention: could not count expired rows: {exc}", err=True)
        return
    expired = [r for r in rows if r["rows_expired"]]
    total = sum(r["rows_expired"] for r in expired)
    if total:
        click.echo(
            f"\nretention: {total:,} rows or files in {len(expired)} stores are past their "
            "retention "
            "(`catalog retention` lists them; the daily schedule deletes them, or now: "
            "`fjordbank sweep --apply`)"
        )
    else:
        click.echo("\nretention: no row is past its retention")


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True)
@click.option(
    "--lineage-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port of the lineage page's server [default: $FJORDBANK_LINEAGE_PORT or 3001].",
)
def ui(port: int, lineage_port: int | None) -> None:
    """Start the Dagster UI (webserver and daemon) and, beside it, the lineage page over HTTP,
    both bound to 127.0.0.1; Ctrl-C stops both."""
    from dagster_project.ui import serve

    s = settings()
    _prepare_environment(s)
    raise SystemExit(serve(port, lineage_port))


if __name__ == "__main__":
    main()
