"""The catalog's commands while a run writes the warehouse (catalog/runlock.py): a reading
command says in one line who writes and what to do, never DuckDB's lock message; `catalog erase
--apply`, which writes, waits for the writer lock like a second run does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from catalog.cli import main

# A valid synthetic identity number (month + 80), held by nobody in the test's warehouse.
NID = "01818012094"

_WRITER = """
import sys, time, duckdb
from pathlib import Path
from catalog.runlock import warehouse_lock
wh, seconds = Path(sys.argv[1]), float(sys.argv[2])
with warehouse_lock(wh, "fjordbank run"):
    conn = duckdb.connect(str(wh))
    print("writing", flush=True)
    time.sleep(seconds)
    conn.close()
"""


def _writer(warehouse: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process that holds the writer lock and the warehouse file for ``seconds``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(warehouse), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    return proc


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("create table t as select 1 as x")
    return path


def test_a_report_during_a_run_names_the_writer_in_one_line(warehouse, real_project) -> None:
    _, manifest = real_project
    writer = _writer(warehouse, 30)
    try:
        result = CliRunner().invoke(
            main,
            ["retention", "--warehouse", str(warehouse), "--manifest", str(manifest)],
        )
    finally:
        writer.kill()
        writer.wait()
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1, result.stderr
    line = result.stderr.strip()
    assert line.startswith(f"error: the warehouse {warehouse} is being written (held by pid ")
    assert "(fjordbank run) since " in line
    assert line.endswith("run this again when that run has finished")
    assert "Conflicting lock" not in line


def test_erase_apply_waits_for_the_run_then_goes_on(warehouse, real_project, tmp_path) -> None:
    _, manifest = real_project
    key = tmp_path / "key"
    key.write_text("00" * 32 + "\n")
    writer = _writer(warehouse, 4)
    try:
        result = CliRunner().invoke(
            main,
            [
                "erase", NID, "--apply", "--warehouse", str(warehouse), "--manifest",
                str(manifest), "--key-file", str(key), "--synthetic",
                "--landing", str(tmp_path / "landing"),
            ],
        )  # fmt: skip
    finally:
        writer.wait()
    assert "waiting for the warehouse: held by pid " in result.stderr
    assert "(fjordbank run) since " in result.stderr
    assert "the warehouse is free: going on" in result.stderr
    assert "Conflicting lock" not in result.output
    assert "is being written" not in result.output
    assert result.exit_code in (0, 1), result.output  # 1: nothing held about the person
