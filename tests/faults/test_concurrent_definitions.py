"""Processes that load the Dagster definitions at the same moment on a fresh data dir (the UI's
code server, the daemon's, a `dagster job launch`, a `make run`): the manifest is compiled once
while the others wait, and every one of them loads (before, they compiled together and all but
one failed on the compile's scratch warehouse lock)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

LOAD = (
    "from dagster_project.definitions import defs\n"
    "d = defs()\n"
    "print(len(list(d.resolve_all_asset_keys())))\n"
)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FJORDBANK_", "DAGSTER_", "OPENLINEAGE_")) and k != "DBT_TARGET"
    }
    env.update(
        FJORDBANK_DATA_DIR=str(tmp_path / "data"),
        DAGSTER_HOME=str(tmp_path / "data" / "dagster_home"),
        FJORDBANK_PSEUDONYM_KEY="test-key",
        OPENLINEAGE_DISABLED="true",
        DAGSTER_DISABLE_TELEMETRY="true",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def test_definitions_loaded_by_three_processes_at_once_all_load(tmp_path: Path) -> None:
    env = _env(tmp_path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOAD],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=900), *p.communicate()) for p in procs]
    for code, _, err in results:
        assert code == 0, err[-3000:]
    counts = {out.strip() for _, out, _ in results}
    assert len(counts) == 1 and int(counts.pop()) > 50  # the same assets in each
    assert (tmp_path / "data" / "dbt_target").is_dir()


HOLD = (
    "import sys, time\n"
    "from dagster_project.definitions import defs\n"
    "defs()\n"
    "print('loaded', flush=True)\n"
    "time.sleep(120)\n"
)


def test_a_long_lived_code_server_does_not_stop_another_process_compiling(tmp_path: Path) -> None:
    """The UI's code server compiled the manifest and lives on; the manifest goes stale (a model
    edited; here: removed) and a run loads the definitions: it compiles again, undisturbed by
    whatever the first process still holds of its own compile."""
    env = _env(tmp_path)
    ui = subprocess.Popen(
        [sys.executable, "-c", HOLD], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert ui.stdout is not None and ui.stdout.readline().strip() == "loaded"
        manifest = tmp_path / "data" / "dbt_target" / "duckdb" / "manifest.json"
        assert manifest.is_file()
        manifest.unlink()
        run = subprocess.run(
            [sys.executable, "-c", LOAD], env=env, capture_output=True, text=True, timeout=900
        )
        assert run.returncode == 0, run.stderr[-3000:]
        assert manifest.is_file()
    finally:
        ui.kill()
        ui.wait()
