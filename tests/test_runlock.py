"""The warehouse's writer lock (catalog/runlock.py), the Warehouse resource's waiting
connections and the dagster.yaml the platform writes: fast, no platform run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml
from click.testing import CliRunner

from catalog.runlock import (
    Holder,
    WarehouseBusy,
    WarehouseUnwritable,
    held_by_this_process,
    holder_of,
    holder_path,
    warehouse_lock,
)
from dagster_project.resources import Warehouse

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from catalog.runlock import warehouse_lock
    with warehouse_lock(Path(sys.argv[1]), "fjordbank run"):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def _hold(warehouse: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the warehouse's lock for ``seconds`` (returns once it holds)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(warehouse), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "data" / "warehouse.duckdb"


def test_busy_names_the_holder_pid_command_and_time(warehouse):
    proc = _hold(warehouse, 30)
    try:
        with pytest.raises(WarehouseBusy) as busy, warehouse_lock(warehouse, "x", wait=False):
            pass
        assert re.fullmatch(
            rf"held by pid {proc.pid} \(fjordbank run\) since \d\d:\d\d:\d\d", str(busy.value)
        )
    finally:
        proc.kill()
        proc.wait()


def test_a_second_writer_waits_with_a_message_then_runs(warehouse):
    proc = _hold(warehouse, 2)
    told: list[str] = []
    started = time.monotonic()
    with warehouse_lock(warehouse, "second", on_wait=told.append, poll=0.1):
        waited = time.monotonic() - started
        assert holder_of(warehouse).command == "second"
        assert holder_of(warehouse).pid == os.getpid()
    proc.wait()
    assert waited > 1.0  # the first held it for 2 s
    assert told[0].startswith(f"waiting for the warehouse: held by pid {proc.pid} (fjordbank run)")
    assert told[-1] == "the warehouse is free: going on"
    assert holder_of(warehouse) is None  # released: the description is removed


def test_a_dead_holder_never_blocks(warehouse):
    proc = _hold(warehouse, 60)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # it left its description behind, with a pid that no longer runs
    stale = holder_of(warehouse)
    assert stale is not None and stale.pid == proc.pid
    assert "no longer running" in stale.describe()
    with warehouse_lock(warehouse, "after the crash", wait=False):
        assert holder_of(warehouse).command == "after the crash"


def test_reentrant_within_one_process(warehouse):
    with warehouse_lock(warehouse, "fjordbank run", wait=False):
        assert held_by_this_process(warehouse)
        with warehouse_lock(warehouse, "dagster run", wait=False):  # the in-process run
            assert holder_of(warehouse).command == "fjordbank run"
        assert held_by_this_process(warehouse)
    assert not held_by_this_process(warehouse)


def test_an_unwritable_place_is_one_line(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(WarehouseUnwritable) as exc, warehouse_lock(blocker / "w.duckdb", "x"):
        pass
    assert "cannot write beside the warehouse" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_holder_description_from_another_host():
    h = Holder(
        pid=1, host="elsewhere.example", command="fjordbank run", since="2026-12-06T05:00:01"
    )
    assert h.describe() == "held by pid 1 (fjordbank run) since 05:00:01 on elsewhere.example"


# --- the command line --------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("FJORDBANK_DATA_DIR", str(data))
    monkeypatch.setenv("DAGSTER_HOME", str(data / "dagster_home"))
    monkeypatch.setenv("FJORDBANK_PSEUDONYM_KEY", "test-key")
    monkeypatch.delenv("FJORDBANK_WAREHOUSE", raising=False)
    return data


@pytest.mark.parametrize("command", [["run", "--no-wait"], ["sweep", "--apply", "--no-wait"]])
def test_no_wait_exits_2_with_one_line(cli_env, command):
    from dagster_project.cli import main

    proc = _hold(cli_env / "warehouse.duckdb", 30)
    try:
        result = CliRunner().invoke(main, command)
    finally:
        proc.kill()
        proc.wait()
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert re.fullmatch(
        rf"error: the warehouse .*warehouse\.duckdb is busy: held by pid {proc.pid} "
        r"\(fjordbank run\) since \d\d:\d\d:\d\d; try again later",
        lines[0],
    )


# --- dagster.yaml: one run at a time -------------------------------------------------------------


def test_dagster_yaml_is_created_with_a_run_limit_of_one(cli_env):
    from dagster_project.cli import _write_dagster_yaml

    home = cli_env / "dagster_home"
    home.mkdir(parents=True)
    _write_dagster_yaml(home / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    finally:
        instance.dispose()


def test_an_existing_dagster_yaml_is_updated_keeping_the_users_settings(cli_env):
    from dagster_project.cli import _write_dagster_yaml

    home = cli_env / "dagster_home"
    home.mkdir(parents=True)
    path = home / "dagster.yaml"
    path.write_text(
        "telemetry:\n  enabled: false\n"
        "run_monitoring:\n  enabled: true\n  poll_interval_seconds: 17\n"
        "concurrency:\n  pools:\n    default_limit: 3\n  runs:\n    max_concurrent_runs: 4\n"
    )
    _write_dagster_yaml(path)
    written = yaml.safe_load(path.read_text())
    assert written["run_monitoring"] == {"enabled": True, "poll_interval_seconds": 17}
    assert written["concurrency"] == {
        "pools": {"default_limit": 3},
        "runs": {"max_concurrent_runs": 1},
    }
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
    finally:
        instance.dispose()
    before = path.stat().st_mtime_ns
    _write_dagster_yaml(path)  # nothing to change: not rewritten
    assert path.stat().st_mtime_ns == before


def test_a_malformed_dagster_yaml_stops_with_one_line_untouched(cli_env):
    import click

    from dagster_project.cli import _write_dagster_yaml

    path = cli_env / "dagster.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("telemetry: [unclosed\n")
    with pytest.raises(click.ClickException) as exc:
        _write_dagster_yaml(path)
    assert "fix or remove it" in exc.value.message
    assert path.read_text() == "telemetry: [unclosed\n"


# --- the Warehouse resource ----------------------------------------------------------------------

READER = textwrap.dedent(
    """
    import sys, time, duckdb
    conn = duckdb.connect(sys.argv[1], read_only=True)
    print("open", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.close()
    """
)


def _reader(warehouse: Path, seconds: float) -> subprocess.Popen:
    """Another process with the warehouse open read-only (as a `catalog` command has it)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", READER, str(warehouse), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "open"
    return proc


def _make_warehouse(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as conn:
        conn.execute("create table t as select 1 as x")


def test_a_writer_waits_for_a_reader_then_writes(warehouse):
    from dagster_project.resources import connect_waiting

    _make_warehouse(warehouse)
    proc = _reader(warehouse, 1.5)
    told: list[str] = []
    conn = connect_waiting(warehouse, wait=30, on_wait=told.append)
    try:
        conn.execute("insert into t values (2)")
        assert conn.execute("select count(*) from t").fetchone()[0] == 2
    finally:
        conn.close()
        proc.wait()
    assert len(told) == 1
    assert f"is open in process {proc.pid}" in told[0]


def test_a_reader_that_stays_too_long_is_one_line(warehouse):
    from dagster_project.resources import WarehouseError, connect_waiting

    _make_warehouse(warehouse)
    proc = _reader(warehouse, 30)
    try:
        with pytest.raises(WarehouseError) as exc:
            connect_waiting(warehouse, wait=0.5)
    finally:
        proc.kill()
        proc.wait()
    message = str(exc.value)
    assert f"stayed locked by process {proc.pid} for 0.5 s" in message
    assert "FJORDBANK_WAREHOUSE_WAIT" in message and "\n" not in message


def _lock_probe_job(warehouse: Path):
    @dg.asset
    def probe(warehouse: Warehouse) -> None:
        with warehouse.connect() as conn:
            conn.execute("create or replace table probe as select 1 as x")

    return dg.Definitions(
        assets=[probe], resources={"warehouse": Warehouse(path=str(warehouse))}
    ).resolve_implicit_global_asset_job_def()


def test_a_dagster_run_waits_for_the_writer_lock_with_a_log_line(warehouse, monkeypatch):
    """A run launched by the UI or the schedule takes the same lock as `fjordbank run`."""
    monkeypatch.setattr("catalog.runlock.POLL_SECONDS", 0.1)
    proc = _hold(warehouse, 2)
    with dg.DagsterInstance.ephemeral() as instance:
        started = time.monotonic()
        result = _lock_probe_job(warehouse).execute_in_process(instance=instance)
        waited = time.monotonic() - started
        messages = [e.user_message for e in instance.all_logs(result.run_id)]
    proc.wait()
    assert result.success
    assert waited > 1
    assert any(
        m.startswith(f"waiting for the warehouse: held by pid {proc.pid} (fjordbank run)")
        for m in messages
    ), messages
    assert not held_by_this_process(warehouse)  # released when the run ended
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("select x from probe").fetchall() == [(1,)]


def test_the_lock_is_held_for_the_whole_dagster_run(warehouse):
    seen: list[bool] = []

    def probe_from_another_process() -> None:
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path; "
                "from catalog.runlock import warehouse_lock, WarehouseBusy\n"
                "try:\n"
                "    with warehouse_lock(Path(sys.argv[1]), 'probe', wait=False): print('free')\n"
                "except WarehouseBusy: print('busy')",
                str(warehouse),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        seen.append(probe.stdout.strip() == "busy")

    @dg.asset
    def slow(warehouse: Warehouse) -> None:
        probe_from_another_process()  # while this run executes

    job = dg.Definitions(
        assets=[slow], resources={"warehouse": Warehouse(path=str(warehouse))}
    ).resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.ephemeral() as instance:
        assert job.execute_in_process(instance=instance).success
    assert seen == [True]
    assert holder_path(warehouse).exists() is False


# --- a Dagster run left "in progress" by a killed process ----------------------------------------

SLEEPER = textwrap.dedent(
    """
    import time
    import dagster as dg

    @dg.asset
    def slow() -> None:
        print("started", flush=True)
        time.sleep(120)

    job = dg.Definitions(assets=[slow]).resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.get() as instance:
        job.execute_in_process(instance=instance)
    """
)


def test_a_run_of_a_killed_process_is_marked_failed(tmp_path, monkeypatch, capsys):
    """It would otherwise count against the run queue's limit of one forever."""
    from dagster_project.cli import _fail_orphaned_runs, _write_dagster_yaml

    home = tmp_path / "dagster_home"
    home.mkdir()
    _write_dagster_yaml(home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        instance = dg.DagsterInstance.from_config(str(home))
        try:
            _fail_orphaned_runs(instance)  # alive: left alone
            (record,) = instance.get_run_records()
            assert record.dagster_run.status == dg.DagsterRunStatus.STARTED
            proc.kill()
            proc.wait()
            _fail_orphaned_runs(instance)
            (record,) = instance.get_run_records()
            assert record.dagster_run.status == dg.DagsterRunStatus.FAILURE
        finally:
            instance.dispose()
    finally:
        proc.kill()
        proc.wait()
    assert f"was left running by pid {proc.pid}, which is gone: marked failed" in (
        capsys.readouterr().out
    )
