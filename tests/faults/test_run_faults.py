"""Runs that meet each other, get killed or cannot write (issue 14): whole `fjordbank run`
processes on a small generated group under ``tmp_path``.

- two runs started a few seconds apart: the second waits with a line naming the first, both
  exit 0 one after the other, and the warehouse equals an undisturbed run's, table by table;
  a third with ``--no-wait`` exits 2 with one line;
- ``kill -9`` during the ingest and during the dbt step, then a rerun: exit 0, the same
  warehouse, and the killed Dagster run no longer counts as in progress;
- a read-only warehouse file or data folder: one line, exit 2, no traceback;
- runs submitted to Dagster's queue (the dagster.yaml `fjordbank` writes, a dagster-daemon
  under ``tmp_path``) run one at a time, and a `fjordbank run` started meanwhile waits for the
  queued run's lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

PERSONS = 300
SEED = 7
AS_OF = dt.date(2026, 11, 2)
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LAUNCH = ["job", "launch", "-w", "workspace.yaml", "-j", "build_everything"]
WAITING = re.compile(r"waiting for the warehouse: held by pid (\d+) \((.+?)\) since \d\d:\d\d:\d\d")


# --- helpers -----------------------------------------------------------------------------------


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FJORDBANK_", "DAGSTER_", "OPENLINEAGE_")) and k != "DBT_TARGET"
    }
    env.update(
        FJORDBANK_DATA_DIR=str(data),
        DAGSTER_HOME=str(data / "dagster_home"),
        FJORDBANK_SYNTHETIC_DATA="true",
        FJORDBANK_PSEUDONYM_KEY="test-key",
        OPENLINEAGE_DISABLED="true",
        DAGSTER_DISABLE_TELEMETRY="true",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    env.update(extra)
    return env


class Run:
    """A `fjordbank run` process in its own session, its output in files."""

    def __init__(self, data: Path, *args: str, **env: str) -> None:
        self.data = data
        self.out = data.parent / f"run-{time.monotonic_ns()}.out"
        self.err = self.out.with_suffix(".err")
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                [str(BIN / "fjordbank"), "run", *args],
                env=_env(data, **env),
                cwd=REPO,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait(self, timeout: float = 900) -> int:
        return self.proc.wait(timeout=timeout)

    @property
    def stdout(self) -> str:
        return self.out.read_text()

    @property
    def stderr(self) -> str:
        return self.err.read_text()

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture
def runs():
    """Every run a test starts; whatever is left of them is killed at the end."""
    started: list[Run] = []
    yield started
    for run in started:
        run.kill_group()


def _start(runs: list[Run], data: Path, *args: str, **env: str) -> Run:
    run = Run(data, *args, **env)
    runs.append(run)
    return run


def _until(predicate, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def _logs(data: Path) -> list[Path]:
    return sorted((data / "logs").glob("run-*.log"))


def _new_log_lines(data: Path, before: list[Path]) -> list[str]:
    """The lines of the run log written since ``before`` was listed."""
    new = [p for p in _logs(data) if p not in before]
    return new[-1].read_text().splitlines() if new else []


# Bookkeeping that differs between equal warehouses: load ids come from a sequence (a killed
# run's transaction rolls back, its sequence values do not), load times from the clock, stat
# signatures from the files' inodes and times (null for a file hashed within 2 s of a write).
BOOKKEEPING = {"_load_id"}
REGISTRY_BOOKKEEPING = {"load_id", "loaded_at", "stat_signature"}  # of raw_meta.loaded_files


def table_hashes(warehouse: Path) -> dict[str, str]:
    """A content hash per base table (rows sorted, so order does not count), the load ids and
    load times left out."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by all"
        ).fetchall()
        hashes = {}
        for schema, name in tables:
            left_out = BOOKKEEPING | (
                REGISTRY_BOOKKEEPING if (schema, name) == ("raw_meta", "loaded_files") else set()
            )
            every = [
                c
                for (c,) in conn.execute(
                    "select column_name from information_schema.columns where table_schema = ? "
                    "and table_name = ? order by ordinal_position",
                    [schema, name],
                ).fetchall()
            ]
            columns = [c for c in every if c not in left_out]
            if schema.startswith("raw_") and "_load_id" in every:
                # the ids left out of the hashes still agree: every raw row's load id is its
                # file's in the registry
                (strays,) = conn.execute(
                    f'select count(*) from "{schema}"."{name}" t anti join '
                    'raw_meta.loaded_files r on r.source = ? and r."table" = ? '
                    "and r.file = t._source_file and r.load_id = t._load_id",
                    [schema.removeprefix("raw_"), name],
                ).fetchone()
                assert strays == 0, f"{schema}.{name}: {strays} rows whose load is not registered"
            select = ", ".join(f'"{c}"' for c in columns)
            rows = conn.execute(f'select {select} from "{schema}"."{name}"').fetchall()
            text = "\n".join(sorted(repr(r) for r in rows))
            hashes[f"{schema}.{name}"] = hashlib.sha256(text.encode()).hexdigest()
    return hashes


def _assert_clean_exit(run: Run) -> None:
    rc = run.wait()
    assert rc == 0, f"exit {rc}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert "Traceback" not in run.stderr


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    from dagster_project.landing.generate import generate

    root = tmp_path_factory.mktemp("run_faults_landing")
    generate(root / "landing", persons=PERSONS, seed=SEED, as_of=AS_OF, progress=False)
    return root / "landing"


def _data_dir(root: Path, landing: Path) -> Path:
    data = root / "data"
    shutil.copytree(landing, data / "landing")
    return data


@pytest.fixture(scope="module")
def reference_data(tmp_path_factory, landing) -> Path:
    """The data dir of one undisturbed run."""
    data = _data_dir(tmp_path_factory.mktemp("run_faults_reference"), landing)
    run = Run(data)
    try:
        _assert_clean_exit(run)
    finally:
        run.kill_group()
    assert "waiting for the warehouse" not in run.stdout
    shutil.copy(run.out, data / "run.out")
    return data


@pytest.fixture(scope="module")
def reference(reference_data) -> dict[str, str]:
    """The warehouse of one undisturbed run, table by table."""
    return table_hashes(reference_data / "warehouse.duckdb")


@pytest.fixture(scope="module")
def shared(tmp_path_factory, landing) -> Path:
    """One data dir the concurrent and kill tests build on, in file order."""
    return _data_dir(tmp_path_factory.mktemp("run_faults_shared"), landing)


# --- two runs at once ----------------------------------------------------------------------------


def test_two_runs_a_few_seconds_apart_both_succeed_one_after_the_other(shared, reference, runs):
    first = _start(runs, shared)
    _until(lambda: (shared / "warehouse.duckdb.writer.json").exists(), 120, "the first run")
    time.sleep(3)
    second = _start(runs, shared)
    # a third that will not wait: exit 2, one line naming the holder
    hasty = _start(runs, shared, "--no-wait")
    assert hasty.wait(120) == 2
    assert hasty.stdout == ""
    (line,) = hasty.stderr.splitlines()
    assert re.fullmatch(
        rf"error: the warehouse \S+warehouse\.duckdb is busy: held by pid {first.pid} "
        r"\(fjordbank run\) since \d\d:\d\d:\d\d; try again later",
        line,
    )

    _assert_clean_exit(first)
    first_done = time.monotonic()
    assert second.proc.poll() is None, "the second run ended before the first"
    _assert_clean_exit(second)
    assert time.monotonic() > first_done
    waiting = WAITING.search(second.stdout)
    assert waiting, second.stdout[:2000]
    assert waiting.groups() == (str(first.pid), "fjordbank run")
    assert "the warehouse is free: going on" in second.stdout
    assert "waiting for the warehouse" not in first.stdout
    assert table_hashes(shared / "warehouse.duckdb") == reference


def test_the_console_is_short_and_the_log_file_has_everything(reference_data):
    """The undisturbed run: a few lines per phase (stdout is no terminal here) and the summary;
    the dbt nodes' lines only in the run log, which holds no identity number."""
    out = (reference_data / "run.out").read_text()
    assert len(out.splitlines()) < 120  # about 950 before, with every dbt node
    assert re.search(r"^dbt: 0/\d+ nodes", out, re.MULTILINE)
    assert " of 392 " not in out
    (log,) = _logs(reference_data)
    assert f"run log:       {log}" in out
    text = log.read_text()
    assert re.search(r"\d+ of \d+ OK created sql table model main\.group_customer_register", text)
    assert "STEP_SUCCESS" in text
    with duckdb.connect(str(reference_data / "warehouse.duckdb"), read_only=True) as conn:
        ids = {r[0] for r in conn.execute("select national_id from raw_bank.customers").fetchall()}
    assert ids and not [i for i in ids if i in text]


# --- kill -9 -------------------------------------------------------------------------------------


def _active_runs(data: Path) -> list[tuple[str, str]]:
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(data / "dagster_home"))
    try:
        return [
            (r.dagster_run.run_id, r.dagster_run.status.value)
            for r in instance.get_run_records(
                filters=dg.RunsFilter(
                    statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING]
                )
            )
        ]
    finally:
        instance.dispose()


def _kill_then_rerun(data: Path, runs: list[Run], reached, what: str, *, group: bool) -> Run:
    before = _logs(data)
    victim = _start(runs, data)
    _until(lambda: reached(_new_log_lines(data, before)), 600, what)
    if group:
        os.killpg(victim.pid, signal.SIGKILL)
    else:
        os.kill(victim.pid, signal.SIGKILL)
    victim.wait(30)
    assert len(_active_runs(data)) == 1  # left "in progress" by the killed process
    # anything still holding the warehouse file would make the rerun wait for it, not fail
    rerun = _start(runs, data, FJORDBANK_WAREHOUSE_WAIT="600")
    _assert_clean_exit(rerun)
    return rerun


def test_kill_9_during_ingest_then_rerun_gives_the_same_warehouse(shared, reference, runs):
    def mid_ingest(lines: list[str]) -> bool:  # the ingest step has loaded its 4th table
        return sum("ASSET_MATERIALIZATION - Materialized value raw_" in ln for ln in lines) >= 4

    rerun = _kill_then_rerun(shared, runs, mid_ingest, "the 4th table ingested", group=True)
    assert table_hashes(shared / "warehouse.duckdb") == reference
    assert "marked failed" in rerun.stdout
    assert _active_runs(shared) == []  # the queue is not blocked by the dead run


def test_kill_9_during_dbt_then_rerun_gives_the_same_warehouse(shared, reference, runs):
    def mid_dbt(lines: list[str]) -> bool:
        return sum(bool(re.search(r"\d+ of \d+ (OK|PASS) ", ln)) for ln in lines) >= 60

    # only the fjordbank process, as after `kill -9 PID`: dbt runs in it, and dies with it
    _kill_then_rerun(shared, runs, mid_dbt, "60 dbt nodes", group=False)
    assert table_hashes(shared / "warehouse.duckdb") == reference
    assert _active_runs(shared) == []


# --- a warehouse that cannot be written ----------------------------------------------------------


@contextlib.contextmanager
def read_only(path: Path):
    """``path`` (a file or folder) read-only: by its mode for an ordinary user; for root, whom
    modes do not stop, by a read-only bind mount (skips where mounting is not allowed)."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    bind = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True)
    if bind.returncode != 0:
        pytest.skip(f"running as root without mount: {bind.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_warehouse_is_one_line_and_exit_2(tmp_path, reference_data, runs, what):
    data = tmp_path / "data"
    shutil.copytree(reference_data, data, ignore=shutil.ignore_patterns("dagster_home", "logs"))
    before = table_hashes(data / "warehouse.duckdb")
    if what == "file":
        target, env = data / "warehouse.duckdb", {}
    else:  # everything under it: Dagster's storage, the key that is not there yet
        target, env = data, {"FJORDBANK_PSEUDONYM_KEY": ""}
    with read_only(target):
        run = _start(runs, data, **env)
        rc = run.wait(300)
    assert rc == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    (line,) = run.stderr.splitlines()
    expected = "cannot write the warehouse" if what == "file" else "cannot write in"
    assert line.startswith(f"error: {expected} {data}"), line
    assert re.search(r"read-only file system|permission denied", line, re.IGNORECASE), line
    assert "run again" in line
    assert table_hashes(data / "warehouse.duckdb") == before  # nothing changed


# --- Dagster's run queue -------------------------------------------------------------------------


def test_queued_runs_run_one_at_a_time_and_exclude_a_manual_run(tmp_path, landing, reference, runs):
    import dagster as dg

    from dagster_project.cli import _write_dagster_yaml

    data = _data_dir(tmp_path, landing)
    home = data / "dagster_home"
    home.mkdir(parents=True)
    _write_dagster_yaml(home / "dagster.yaml")
    # The storage first (as `make ui` / `make run` do): processes creating a fresh SQLite storage
    # at the same moment can leave its schema table with two heads.
    instance = dg.DagsterInstance.from_config(str(home))
    env = _env(data)
    daemon_log = tmp_path / "daemon.out"
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        env=env,
        cwd=REPO,
        stdout=daemon_log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(2):
            launched = subprocess.run(
                [str(BIN / "dagster"), *LAUNCH],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
            )
            assert launched.returncode == 0, launched.stdout[-2000:] + launched.stderr[-3000:]
        manual = None
        seen: list[list[str]] = []
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            queued = _queued_statuses(instance)
            seen.append(queued)
            if manual is None and "STARTED" in queued:
                # a manual run while the first queued run writes: it waits for that run's lock
                manual = _start(runs, data)
            if len(queued) == 2 and all(s in {"SUCCESS", "FAILURE", "CANCELED"} for s in queued):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the queued runs did not finish: {seen[-1]}")
        assert queued == ["SUCCESS", "SUCCESS"], daemon_log.read_text()[-3000:]
        assert not [s for s in seen if s.count("STARTED") > 1], "two queued runs at once"
        assert sorted(seen[0]) in (["QUEUED", "QUEUED"], ["QUEUED", "STARTED"])
        assert any(sorted(s) == ["QUEUED", "STARTED"] for s in seen)  # one waited in the queue
        assert manual is not None
        _assert_clean_exit(manual)
        waiting = WAITING.search(manual.stdout)
        assert waiting, manual.stdout[:2000]
        assert re.fullmatch(r"dagster run [0-9a-f]{8} \(build_everything\)", waiting.group(2))
        assert table_hashes(data / "warehouse.duckdb") == reference
    finally:
        instance.dispose()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(60)


def _queued_statuses(instance) -> list[str]:
    """The statuses of the runs submitted to the queue (not those of `fjordbank run`), oldest
    first."""
    records = instance.get_run_records(order_by="create_timestamp", ascending=True)
    return [
        r.dagster_run.status.value
        for r in records
        if r.dagster_run.tags.get("fjordbank/command") is None
    ]
