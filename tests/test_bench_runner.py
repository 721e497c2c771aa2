"""`python -m bench` runs each benchmark in the environment it started with, keeps every figure
measured when one fails, and exits non-zero naming it.

A whole `make bench` once stopped after 70 minutes: the materialise benchmark had exported its
temporary warehouse path, the lineage benchmark's dbt compile then opened that deleted file, and
the figures already measured were lost with the traceback."""

from __future__ import annotations

import json
import os
import sys
import types

import pytest

from bench import __main__ as runner


def _module(monkeypatch, name: str, run) -> None:
    module = types.ModuleType(f"bench.{name}")
    module.run = run
    module.QUICK = {"size": "quick"}
    monkeypatch.setitem(sys.modules, f"bench.{name}", module)


@pytest.fixture
def three_benchmarks(monkeypatch):
    """A benchmark that exports a warehouse path, one that fails, and one that records what
    it sees."""
    monkeypatch.setenv("FJORDBANK_WAREHOUSE", "/data/warehouse.duckdb")
    monkeypatch.delenv("FJORDBANK_BENCH_SCRATCH", raising=False)
    seen: dict = {}

    def exporting(size="full"):
        os.environ["FJORDBANK_WAREHOUSE"] = "/tmp/gone/warehouse.duckdb"
        os.environ["FJORDBANK_BENCH_SCRATCH"] = "yes"
        yield {"benchmark": "exporting", "size": size}

    def failing(size="full"):
        yield {"benchmark": "failing", "row": 1}
        raise SystemExit("build_everything failed")

    def recording(size="full"):
        seen["warehouse"] = os.environ.get("FJORDBANK_WAREHOUSE")
        seen["scratch"] = os.environ.get("FJORDBANK_BENCH_SCRATCH")
        return [{"benchmark": "recording", "size": size}]

    _module(monkeypatch, "t_exporting", exporting)
    _module(monkeypatch, "t_failing", failing)
    _module(monkeypatch, "t_recording", recording)
    return seen


def test_each_benchmark_starts_from_the_commands_environment(three_benchmarks, tmp_path):
    out = tmp_path / "bench" / "results.json"
    failed = runner.run_benchmarks(["t_exporting", "t_failing", "t_recording"], quick=True, out=out)
    assert failed == ["t_failing"]
    assert three_benchmarks == {"warehouse": "/data/warehouse.duckdb", "scratch": None}
    assert os.environ["FJORDBANK_WAREHOUSE"] == "/data/warehouse.duckdb"
    assert "FJORDBANK_BENCH_SCRATCH" not in os.environ
    rows = json.loads(out.read_text())
    assert rows == [
        {"benchmark": "exporting", "size": "quick"},
        {"benchmark": "failing", "row": 1},
        {"benchmark": "recording", "size": "quick"},
    ]


def test_a_failed_benchmark_makes_the_command_fail_with_the_figures_kept(
    three_benchmarks, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("FJORDBANK_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(runner, "BENCHMARKS", ("t_exporting", "t_failing", "t_recording"))
    monkeypatch.setattr(sys, "argv", ["python -m bench"])
    with pytest.raises(SystemExit) as exit_:
        runner.main()
    out = tmp_path / "bench" / "results.json"
    assert str(exit_.value.code).startswith("benchmarks failed: t_failing (tracebacks above)")
    assert str(out) in str(exit_.value.code)
    assert len(json.loads(out.read_text())) == 3
    printed = capsys.readouterr()
    assert "[t_failing] failed: SystemExit: build_everything failed" in printed.out
    assert "Traceback" in printed.err


def test_a_rows_file_is_written_while_a_benchmark_runs(monkeypatch, tmp_path):
    out = tmp_path / "results.json"
    written = []

    def watching():
        yield {"benchmark": "a"}
        written.append(json.loads(out.read_text()))
        yield {"benchmark": "b"}

    _module(monkeypatch, "t_watching", watching)
    assert runner.run_benchmarks(["t_watching"], quick=False, out=out) == []
    assert written == [[{"benchmark": "a"}]]
    assert json.loads(out.read_text()) == [{"benchmark": "a"}, {"benchmark": "b"}]
