"""The next day's delivery (``dagster_project/landing/daily.py``) that the daily-run tests and
benchmark feed the platform: which keys it delivers again, and that its corrections change one
value each and stay within the landing contract (the ingest loads them all)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pytest

from dagster_project.landing.contract import TABLES, table
from dagster_project.landing.daily import next_delivery
from dagster_project.landing.generate import generate
from dagster_project.landing.load import ingest_table

AS_OF = dt.date(2026, 11, 2)
DAY1, DAY2 = AS_OF + dt.timedelta(days=1), AS_OF + dt.timedelta(days=2)


def _records(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _by_key(t, records) -> dict[tuple, dict[str, str]]:
    return {tuple(r[c] for c in t.key): r for r in records}


def _latest(t, landing: Path, before: dt.date) -> dict[tuple, dict[str, str]]:
    """Each key of ``t`` with its record of the latest file dated before ``before``."""
    latest: dict[tuple, dict[str, str]] = {}
    for path in sorted((landing / t.source / t.name).glob("*.csv")):
        if dt.date.fromisoformat(path.stem) < before:
            latest |= _by_key(t, _records(path))
    return latest


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("delivery") / "landing"
    generate(root, persons=300, seed=5, as_of=AS_OF, progress=False)
    return root


@pytest.fixture(scope="module")
def delivered(landing) -> dict[int, dict[str, int]]:
    return {
        1: next_delivery(landing, DAY1, every=7, correct=2, seed=3),
        2: next_delivery(landing, DAY2, every=5, seed=3),
    }


def test_every_nth_key_is_delivered_again_and_every_other_one_corrected(landing, delivered):
    changed_columns = set()
    for t in TABLES:
        first = _latest(t, landing, DAY1)
        again = _records(landing / t.source / t.name / f"{DAY1}.csv")
        keys = sorted(first)
        assert [tuple(r[c] for c in t.key) for r in again] == keys[::7], t.name
        assert delivered[1][f"{t.source}.{t.name}"] == len(again)
        for i, record in enumerate(again):
            before = first[tuple(record[c] for c in t.key)]
            differing = [c for c in t.column_names if record[c] != before[c]]
            assert not set(differing) & set(t.key)
            # every even record has exactly one value changed (a table whose every non-key
            # column has a pattern has none to change), every odd one none
            assert len(differing) == (i % 2 == 0 and bool(differing)), (t.name, record)
            changed_columns.update(f"{t.name}.{c}" for c in differing)
    # the corrections reach every kind of value the contract has
    for expected in (
        "customers.national_id",  # another person's number: the customer number moves
        "accounts.product_code",
        "loans.in_default",
        "accounts.balance",
    ):
        assert expected in changed_columns, sorted(changed_columns)
    assert any(c.endswith(("closed_on", "end_date", "customer_until")) for c in changed_columns)


def test_a_later_day_delivers_each_key_with_its_latest_record(landing, delivered):
    for t in TABLES:
        latest = _latest(t, landing, DAY2)
        again = _records(landing / t.source / t.name / f"{DAY2}.csv")
        assert [tuple(r[c] for c in t.key) for r in again] == sorted(latest)[::5], t.name
        assert all(r == latest[tuple(r[c] for c in t.key)] for r in again), t.name


def test_the_corrections_stay_within_the_contract(landing, delivered, tmp_path):
    """Every record of the new days that the ingest refuses is a record the generator
    delivered refused already (it plants some): no correction breaks the contract."""
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        for t in TABLES:
            result = ingest_table(conn, t.source, t.name, landing, allow_synthetic=True)
            files = len(list((landing / t.source / t.name).glob("*.csv")))
            assert len(result.files_read) == files and not result.unapplied, t.name
            refused = conn.execute(
                'select file, line from quarantine.rejected_rows where source = ? and "table" = ?',
                [t.source, t.name],
            ).fetchall()
            keys: dict[str, set[tuple]] = {}
            for file, line in refused:
                record = _records(landing / file)[line - 2]  # line 1 is the header
                keys.setdefault(Path(file).stem, set()).add(tuple(record[c] for c in t.key))
            first = set().union(*(k for day, k in keys.items() if day < DAY1.isoformat()))
            for day in (DAY1, DAY2):
                day_keys = keys.get(day.isoformat(), set())
                assert day_keys <= first, (t.name, day, day_keys - first)


def test_bad_arguments_fail_with_one_line(landing):
    with pytest.raises(ValueError, match="correct must be 0"):
        next_delivery(landing, DAY2 + dt.timedelta(days=1), correct=-1)
    with pytest.raises(ValueError, match="exists already"):
        next_delivery(landing, DAY1)
    assert table("bank", "customers").key == ("customer_no",)
