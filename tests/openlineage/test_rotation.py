"""The default events file is rotated (by size, or by day) when an emitter starts, keeping a
configured number of rotated files; no event is lost, also when several processes emit."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from spec_validation import spec_dir, validate_events_file
from synthetic_build import (  # noqa: F401 (fixtures, imported to register them)
    isolated_openlineage_env_fixture,
    small_project_fixture,
)

from catalog.openlineage.rotation import rotate, rotated_files
from catalog.settings import OpenLineageRotation, SettingsError, settings
from dagster_project.openlineage import build_emitter

LOGGER = "dagster_project.openlineage"


def _spec_present() -> bool:
    return (spec_dir() / "OpenLineage.json").is_file()


def _events_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "openlineage" / "events.jsonl"


def _all_files(path: Path) -> list[Path]:
    """Rotated files oldest first, then the live file."""
    return [*rotated_files(path), *([path] if path.exists() else [])]


def _lines(files: list[Path]) -> list[dict]:
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def _key(event) -> tuple[str, str, str]:
    if isinstance(event, dict):
        return (event["run"]["runId"], event["eventType"], event["eventTime"])
    return (str(event.run.runId), event.eventType.value, event.eventTime)


def test_the_file_is_rotated_at_the_size_limit_and_no_event_is_lost(
    small_project, isolated_openlineage_env, tmp_path, monkeypatch, caplog
):
    events = small_project.dbt_events()
    assert len(events) >= 6
    path = _events_file(tmp_path)
    # one session of two events: measure the size of an event on disk
    with build_emitter() as emitter:
        assert emitter.emit_all(events[:2]) == 2
    two_events = path.stat().st_size
    monkeypatch.setenv("FJORDBANK_OPENLINEAGE_MAX_BYTES", str(two_events * 2))
    monkeypatch.setenv("FJORDBANK_OPENLINEAGE_KEEP", "10")

    sessions = [events[2:4], events[4:6], events[6:]]
    with caplog.at_level(logging.INFO, logger=LOGGER):
        with build_emitter() as emitter:  # 2 events on disk: under the limit, appended
            emitter.emit_all(sessions[0])
        assert rotated_files(path) == []
        assert path.stat().st_size >= two_events * 2
        with build_emitter() as emitter:  # at the limit: rotated first, then a new file
            emitter.emit_all(sessions[1])
        with build_emitter() as emitter:  # the new file holds 2 events: under the limit
            emitter.emit_all(sessions[2])

    [rotated] = rotated_files(path)
    assert rotated.name.startswith("events.") and rotated.suffix == ".jsonl"
    assert [_key(e) for e in _lines([rotated])] == [_key(e) for e in events[:4]]
    assert [_key(e) for e in _lines([path])] == [_key(e) for e in events[4:]]
    # every event once, in order, across the rotation
    assert [_key(e) for e in _lines(_all_files(path))] == [_key(e) for e in events]
    [line] = [r.getMessage() for r in caplog.records if "rotated" in r.getMessage()]
    assert line.startswith("OpenLineage events file rotated: events.jsonl (") and (
        f"-> {rotated.name}; keeping 10 rotated file(s)" in line
    )
    if _spec_present():
        assert validate_events_file(rotated) == 4
        assert validate_events_file(path) == len(events) - 4


def test_only_the_configured_number_of_rotated_files_is_kept(
    small_project, isolated_openlineage_env, tmp_path, monkeypatch
):
    events = small_project.dbt_events()
    path = _events_file(tmp_path)
    monkeypatch.setenv("FJORDBANK_OPENLINEAGE_MAX_BYTES", "1")  # every session rotates
    monkeypatch.setenv("FJORDBANK_OPENLINEAGE_KEEP", "2")
    for i, event in enumerate(events[:5]):
        with build_emitter() as emitter:
            assert emitter.emit(event)
        # distinct modification times, as separate runs have (the names are to the second)
        os.utime(path, (time.time() - 100 + i, time.time() - 100 + i))
    kept = rotated_files(path)
    assert len(kept) == 2  # the 3 oldest were deleted
    assert [_key(e) for e in _lines(kept)] == [_key(e) for e in events[2:4]]
    assert [_key(e) for e in _lines([path])] == [_key(events[4])]
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.startswith(".")) == sorted(
        [*(p.name for p in kept), "events.jsonl"]
    )


def test_daily_rotation_moves_yesterdays_events_aside(
    small_project, isolated_openlineage_env, tmp_path, monkeypatch
):
    events = small_project.dbt_events()
    path = _events_file(tmp_path)
    monkeypatch.setenv("FJORDBANK_OPENLINEAGE_DAILY", "true")
    with build_emitter() as emitter:
        emitter.emit_all(events[:2])
    with build_emitter() as emitter:  # same day, far under 50 MB: appended
        emitter.emit_all(events[2:4])
    assert rotated_files(path) == []
    yesterday = (dt.datetime.now() - dt.timedelta(days=1)).timestamp()
    os.utime(path, (yesterday, yesterday))
    with build_emitter() as emitter:
        emitter.emit_all(events[4:])
    [rotated] = rotated_files(path)
    stamp = dt.datetime.fromtimestamp(yesterday, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    assert rotated.name == f"events.{stamp}.jsonl"
    assert len(_lines([rotated])) == 4 and len(_lines([path])) == len(events) - 4


def test_a_malformed_rotation_setting_is_one_warning_and_events_are_still_written(
    small_project, isolated_openlineage_env, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("FJORDBANK_OPENLINEAGE_MAX_BYTES", "lots")
    with caplog.at_level(logging.WARNING, logger=LOGGER), build_emitter() as emitter:
        assert emitter.emit(small_project.dbt_events()[0])
    [line] = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert line == (
        f"OpenLineage events file {_events_file(tmp_path)} not rotated: "
        "FJORDBANK_OPENLINEAGE_MAX_BYTES='lots' is not a size: give bytes, or a number with kB, "
        "MB, GB, KiB, MiB or GiB (0: no limit), e.g. 50MB"
    )
    assert len(_lines([_events_file(tmp_path)])) == 1


def test_a_configured_file_transport_is_never_rotated(
    small_project, isolated_openlineage_env, tmp_path, monkeypatch
):
    own = tmp_path / "own.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(own))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    monkeypatch.setenv("FJORDBANK_OPENLINEAGE_MAX_BYTES", "1")
    for event in small_project.dbt_events()[:3]:
        with build_emitter() as emitter:
            assert emitter.emit(event)
    assert rotated_files(own) == [] and len(_lines([own])) == 3


def test_settings_defaults_and_malformed_values(monkeypatch):
    for name in ("MAX_BYTES", "KEEP", "DAILY"):
        monkeypatch.delenv(f"FJORDBANK_OPENLINEAGE_{name}", raising=False)
    assert settings().openlineage_rotation == OpenLineageRotation(50_000_000, False, 5)
    monkeypatch.setenv("FJORDBANK_OPENLINEAGE_MAX_BYTES", "2 MiB")
    monkeypatch.setenv("FJORDBANK_OPENLINEAGE_KEEP", "3")
    monkeypatch.setenv("FJORDBANK_OPENLINEAGE_DAILY", "yes")
    assert settings().openlineage_rotation == OpenLineageRotation(2 * 2**20, True, 3)
    monkeypatch.setenv("FJORDBANK_OPENLINEAGE_KEEP", "0")
    with pytest.raises(SettingsError, match=r"^FJORDBANK_OPENLINEAGE_KEEP='0': expected files"):
        _ = settings().openlineage_rotation
    monkeypatch.setenv("FJORDBANK_OPENLINEAGE_KEEP", "3")
    monkeypatch.setenv("FJORDBANK_OPENLINEAGE_DAILY", "sometimes")
    with pytest.raises(SettingsError, match="expected true or false"):
        _ = settings().openlineage_rotation


def test_rotate_without_a_file_or_under_the_limit_does_nothing(tmp_path):
    path = tmp_path / "events.jsonl"
    policy = OpenLineageRotation(max_bytes=10, keep=1)
    assert rotate(path, policy).renamed_to is None
    path.write_text("{}\n")
    assert rotate(path, policy).renamed_to is None and path.exists()
    with pytest.raises(ValueError, match="keep must be at least 1"):
        rotate(path, OpenLineageRotation(keep=0))


# Each process emits SESSIONS sessions of EVENTS events of about 22 KB (the size of a real dbt
# node's event), starting an emitter per session as a Dagster step does.
_WRITER = textwrap.dedent(
    """
    import datetime as dt, sys, uuid
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import sql_job
    from dagster_project.openlineage import build_emitter

    name, sessions, events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for s in range(sessions):
        with build_emitter() as emitter:
            for e in range(events):
                event = RunEvent(
                    eventType=RunState.COMPLETE,
                    eventTime=dt.datetime.now(dt.UTC).isoformat(),
                    run=Run(runId=str(uuid.uuid4())),
                    job=Job(
                        namespace="fjordbank",
                        name=f"{name}.{s}.{e}",
                        facets={"sql": sql_job.SQLJobFacet(query="select 1 --" + "x" * 22_000)},
                    ),
                    producer="https://example.invalid/rotation-test",
                )
                assert emitter.emit(event), "not delivered"
    """
)


def test_two_processes_emitting_while_rotating_lose_no_event(
    isolated_openlineage_env, tmp_path, monkeypatch
):
    processes, sessions, events = 3, 12, 4
    monkeypatch.setenv("FJORDBANK_OPENLINEAGE_MAX_BYTES", "150kB")  # about every 2nd session
    monkeypatch.setenv("FJORDBANK_OPENLINEAGE_KEEP", "1000")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, f"p{i}", str(sessions), str(events)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
    ]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    path = _events_file(tmp_path)
    files = _all_files(path)
    assert len(files) > 3  # it did rotate, several times
    lines = _lines(files)  # every line is one whole JSON event: no write was split
    names = [e["job"]["name"] for e in lines]
    expected = {f"p{i}.{s}.{e}" for i in range(processes) for s in range(sessions)
                for e in range(events)}  # fmt: skip
    assert len(names) == len(expected) and set(names) == expected
    for i in range(processes):  # each process's own events in its order
        mine = [n for n in names if n.startswith(f"p{i}.")]
        assert mine == sorted(mine, key=lambda n: tuple(int(x) for x in n.split(".")[1:]))
    if _spec_present():
        assert sum(validate_events_file(f) for f in files) == len(expected)
