"""The retention sweep end to end: after `fjordbank run` (which never deletes) `catalog
retention` shows the generated history's expired rows; `fjordbank sweep --apply` deletes them
from the landing files, raw tables and quarantine, rebuilds the outputs from what remains and
reports counts only; a year later more has expired and is swept again (slow: two builds)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """``catalog ...`` or ``fjordbank ...`` (the venv's console scripts)."""
    script = Path(sys.executable).parent / args[0]
    return subprocess.run(
        [str(script), *args[1:]], cwd=REPO, env=env, capture_output=True, text=True
    )


def _retention(env: dict[str, str], manifest: Path, today: dt.date) -> dict[str, dict]:
    out = _run(
        [
            "catalog",
            "retention",
            "--manifest",
            str(manifest),
            "--format",
            "json",
            "--today",
            today.isoformat(),
        ],
        env,
    )
    assert out.returncode == 0, out.stderr
    return {r["table"]: r for r in json.loads(out.stdout)}


def test_sweep_end_to_end(tmp_path: Path):
    data = tmp_path / "data"
    env = {
        **os.environ,
        "FJORDBANK_DATA_DIR": str(data),
        "FJORDBANK_SYNTHETIC_DATA": "true",
        "DAGSTER_HOME": str(data / "dagster_home"),
    }
    env.pop("FJORDBANK_WAREHOUSE", None)
    env.pop("FJORDBANK_LANDING_DIR", None)
    today = dt.date.today()
    run = _run(["fjordbank", "run", "--persons", "2000"], env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "past their retention" in run.stdout

    # the generated history has expired rows; a dry run changes nothing
    manifest = next((data / "dbt_target").rglob("manifest.json"))
    expired = {t: r["rows_expired"] for t, r in _retention(env, manifest, today).items()}
    assert expired["raw_web.page_views"] > 0 and expired["raw_bank.customers"] > 0, expired
    dry = _run(["fjordbank", "sweep"], env)
    assert dry.returncode == 0 and "dry run" in dry.stdout, dry.stderr
    assert {t: r["rows_expired"] for t, r in _retention(env, manifest, today).items()} == expired

    # --apply deletes them everywhere, reports counts only, and rebuilds the outputs
    applied = _run(["fjordbank", "sweep", "--apply"], env)
    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
    assert "Dagster run" in applied.stdout  # the rebuild
    report = json.loads((data / "reports" / f"sweep-{today.isoformat()}.json").read_text())
    assert report["applied"]
    assert report["tables"]["web.page_views"]["raw"] == expired["raw_web.page_views"]
    assert report["total"]["landing"] == report["total"]["raw"] + report["total"]["quarantine"]
    text = json.dumps(report)
    assert not re.search(r"\d{11}", text) and "@" not in text
    rows = _retention(env, manifest, today)
    assert all(not r["rows_expired"] for r in rows.values()), rows
    assert rows["raw_web.page_views"]["rows"] > 0
    cutoff = today.replace(year=today.year - 1)
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as conn:
        old_views = conn.execute(
            "select count(*) from main.int_page_views_consented where cast(viewed_at as date) < ?",
            [cutoff],
        ).fetchone()[0]
        ids = {r[0] for r in conn.execute("select national_id from raw_bank.customers").fetchall()}
    assert old_views == 0

    # a year on, more has expired; --no-rebuild only deletes
    later = today + dt.timedelta(days=400)
    assert _retention(env, manifest, later)["raw_web.page_views"]["rows_expired"] > 0
    again = _run(
        ["fjordbank", "sweep", "--apply", "--no-rebuild", "--today", later.isoformat()], env
    )
    assert again.returncode == 0 and "Dagster run" not in again.stdout, again.stderr
    assert all(not r["rows_expired"] for r in _retention(env, manifest, later).values())

    # the OpenLineage files and Dagster's run storage hold no row values (catalog/stores.yml)
    events = "\n".join(p.read_text() for p in (data / "openlineage").glob("*.jsonl"))
    assert events and not (set(re.findall(r"\d{11}", events)) & ids)
    storage = b"".join(p.read_bytes() for p in (data / "dagster_home").rglob("*.db"))
    assert not {i for i in ids if i.encode() in storage}
