"""`fjordbank`: the platform's own commands (`make run` and `make ui` call them).

fjordbank generate --persons 10000 --seed 42 --out data/landing
fjordbank run [--persons N] [--seed S]     generate if needed, materialise, check, summarise
fjordbank ui                               the Dagster UI on 127.0.0.1
fjordbank sweep [--apply] [--today D]      delete what has expired (retention), dry run by default;
                                           --apply then rebuilds the outputs
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
import sys
from pathlib import Path

import click

from catalog.settings import DBT_TARGET_ENV, REPO_ROOT, Settings, settings
from dagster_project.project import DBT_PROJECT_DIR


def _prepare_environment(s: Settings) -> None:
    """Project-local Dagster storage with telemetry off, and the pseudonymisation key."""
    os.environ.setdefault("DAGSTER_HOME", str(s.dagster_home))
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    dagster_yaml = home / "dagster.yaml"
    if not dagster_yaml.exists():
        dagster_yaml.write_text("telemetry:\n  enabled: false\n")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    if not s.pseudonym_key and not s.key_file.exists():
        s.key_file.parent.mkdir(parents=True, exist_ok=True)
        s.key_file.touch(mode=0o600)
        s.key_file.write_text(secrets.token_hex(32) + "\n")
        click.echo(f"created a pseudonymisation key in {s.key_file} (keep it secret and stable)")


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


@main.command()
@click.option("--persons", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--target",
    type=click.Choice(["duckdb", "spark"]),
    default=None,
    help="dbt target (default: $DBT_TARGET or duckdb).",
)
def run(persons: int, seed: int, target: str | None) -> None:
    """Generate landing data if none is there, materialise every asset, check the policy."""
    if target:
        os.environ[DBT_TARGET_ENV] = target
    s = settings()
    _prepare_environment(s)

    if _landing_present(s.landing_dir):
        click.echo(f"using the landing data already in {s.landing_dir}")
    else:
        click.echo(f"no landing data in {s.landing_dir}: generating {persons:,} persons")
        from dagster_project.landing.generate import generate as run_generator

        try:
            run_generator(s.landing_dir, persons=persons, seed=seed, progress=True)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None

    ok = _materialise()
    check_rc = _policy_check(s)
    report_rc = _lineage_page(s)
    _summary(s)
    if not ok:
        raise click.ClickException("the Dagster run failed; open `make ui` to see why")
    if check_rc != 0:
        raise click.ClickException("catalog check did not pass (see above)")
    if report_rc != 0:
        raise click.ClickException("catalog report could not write the lineage page (see above)")


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
def sweep(apply_: bool, today: dt.datetime | None, rebuild: bool) -> None:
    """Delete the rows whose retention has expired from the landing files, raw tables and
    quarantine (a dry run unless --apply); prints the counts per table and place.

    With --apply it writes reports/sweep-<date>.json (counts, never values), checks that
    nothing expired is left, then rebuilds the outputs from what remains (the build_everything
    job; --no-rebuild leaves that to the next run). The daily schedule does the same (daily_run).
    """
    import duckdb

    from catalog.retention import RetentionError
    from catalog.retention.purge import PurgeError
    from catalog.retention.sweep import render_text
    from dagster_project.assets.sweep import run_sweep
    from dagster_project.landing.deliveries import IngestError
    from dagster_project.project import dbt_project

    s = settings()
    day = today.date() if today else dt.date.today()
    if not s.warehouse.is_file() and not apply_:
        raise click.ClickException(f"no warehouse at {s.warehouse}; run `fjordbank run` first")
    try:
        manifest = Path(dbt_project().manifest_path)
        with duckdb.connect(str(s.warehouse)) as conn:
            result, left, report = run_sweep(conn, manifest, day, apply=apply_, s=s)
    except (PurgeError, IngestError, RetentionError, duckdb.Error) as exc:
        click.echo(f"error: {' '.join(str(exc).split())}", err=True)
        raise SystemExit(2) from None
    click.echo(render_text(result), nl=False)
    if report is not None:
        click.echo(f"wrote {report}")
    if left:
        tables = ", ".join(sorted(left))
        raise click.ClickException(f"expired rows are left after the sweep in {tables}")
    if apply_ and rebuild:
        _prepare_environment(s)
        if not _materialise():
            raise click.ClickException("the rebuild after the sweep failed; open `make ui`")


def _materialise() -> bool:
    """Execute the build_everything job through Dagster, recorded in DAGSTER_HOME."""
    import dagster as dg

    from dagster_project.definitions import defs

    click.echo("materialising every asset through Dagster (job build_everything) ...")
    definitions = defs()
    job = definitions.resolve_job_def("build_everything")
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
    failed = [e for e in result.all_events if e.is_step_failure]
    for event in failed:
        data = event.step_failure_data
        msg = data.error.message.strip() if data and data.error else "failed"
        click.echo(f"  step {event.step_key} failed: {msg.splitlines()[0]}", err=True)
    click.echo(f"Dagster run {result.run_id}: {'success' if result.success else 'FAILURE'}")
    return result.success


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


def _summary(s: Settings) -> None:
    if not s.warehouse.exists():
        return
    click.echo(f"\nrow counts ({s.dbt_target})")
    for schema, name, n in _row_counts(s):
        click.echo(f"  {schema + '.' + name:<55} {n:>12,}")
    _retention_line(s)
    click.echo(
        f"\nwarehouse:     {s.spark_warehouse_dir if s.dbt_target == 'spark' else s.warehouse}\n"
        f"landing:       {s.landing_dir}\n"
        f"dagster home:  {os.environ.get('DAGSTER_HOME', s.dagster_home)}\n"
        f"lineage page:  {s.reports_dir / 'lineage.html'}\n"
        f"lineage events: {s.openlineage_dir / 'events.jsonl'}\n"
        "open the UI:   make ui   (http://127.0.0.1:3000)"
    )


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
            rows = retention_rows(conn, declarations, dt.date.today())
    except (RetentionError, duckdb.Error, OSError) as exc:
        click.echo(f"\nretention: could not count expired rows: {exc}", err=True)
        return
    expired = [r for r in rows if r["rows_expired"]]
    total = sum(r["rows_expired"] for r in expired)
    if total:
        click.echo(
            f"\nretention: {total:,} rows in {len(expired)} tables are past their retention "
            "(`catalog retention` lists them; the daily schedule deletes them, or now: "
            "`fjordbank sweep --apply`)"
        )
    else:
        click.echo("\nretention: no row is past its retention")


@main.command()
@click.option("--port", type=int, default=3000, show_default=True)
def ui(port: int) -> None:
    """Start the Dagster UI (webserver and daemon) bound to 127.0.0.1."""
    s = settings()
    _prepare_environment(s)
    dagster = Path(sys.executable).with_name("dagster")
    cmd = [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"]
    os.chdir(REPO_ROOT)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
