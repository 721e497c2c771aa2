"""The materialise benchmark's fairness (no timing asserted): each run starts from the landing
zone as generated, though the erasures of the run before rewrote files of its copy, and the
baseline does the job's work (the delivered erasure requests carried out) with the same call."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from bench import materialise
from dagster_project.assets.erasure import carry_out_erasures
from tests.whole_run import AS_OF, KEY


def _digests(root):
    return {
        p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def bench_dirs(tmp_path, monkeypatch):
    from dagster_project.landing.generate import generate

    delivered = tmp_path / "delivered"
    generate(delivered, persons=300, seed=7, as_of=AS_OF, progress=False)
    data_dir, landing = tmp_path / "data", tmp_path / "landing"
    monkeypatch.setenv("FJORDBANK_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FJORDBANK_LANDING_DIR", str(landing))
    monkeypatch.setenv("FJORDBANK_SYNTHETIC_DATA", "true")
    monkeypatch.setenv("FJORDBANK_PSEUDONYM_KEY", KEY.decode())
    return delivered, landing, data_dir, tmp_path / "wh" / "warehouse.duckdb"


@pytest.mark.slow
def test_every_run_starts_from_the_generated_landing_zone(bench_dirs, real_project):
    _, manifest_path = real_project
    delivered, landing, data_dir, warehouse = bench_dirs
    generated = _digests(delivered)
    for run in range(2):
        materialise._fresh_start(delivered, landing, data_dir, warehouse)
        assert _digests(landing) == generated
        assert not (data_dir / "privacy").exists()  # no suppression list or receipts of run 0
        conn = duckdb.connect(str(warehouse))
        try:
            receipts = carry_out_erasures(conn, manifest_path)
        finally:
            conn.close()
        # the generated requests are carried out in every run, not only the first
        assert receipts and all(r.applied and r.rows_removed > 0 for r in receipts), run
        changed = {p for p, d in _digests(landing).items() if generated.get(p) != d}
        assert any(p.parts[:2] == ("privacy", "erasure_requests") for p in changed)
        assert any(p.parts[0] not in ("privacy",) for p in changed)  # the persons' records
        # the rewrites went to the copy: the generated files are byte for byte as they were
        assert _digests(delivered) == generated
