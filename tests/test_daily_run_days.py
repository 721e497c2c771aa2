"""Day after day, the daily run equals a full rebuild: four delivery days on one warehouse, each
built by the daily run (only the new and changed files ingested, the incremental staging models
fed only their new rows) and compared, every table row for row, with a full rebuild
(`fjordbank run --full-refresh`) of a copy of the same landing data.

The days mix what companies deliver (drawn with fixed seeds, so a failure repeats):
corrections of earlier records (one value changed within the contract, including a customer
number moved to another person and agreements ending), late deliveries dated before files
already loaded, a day's file delivered again with other content, consent grants and
withdrawals, objections made and withdrawn, marketing-cookie choices and an erasure request.
tests/test_daily_run.py covers one day at a time with the outcomes named; this module is the
oracle over a sequence, where an incremental model would keep a row a full rebuild drops."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import shutil

import pytest

from dagster_project.landing.contract import table
from dagster_project.landing.daily import corrected, national_id_pool, next_delivery
from tests.test_daily_run import _query, _run, _tables, platform_env

pytestmark = pytest.mark.slow

AS_OF = dt.date(2026, 11, 2)
KEY = b"days-key"
DAYS = (1, 2, 3, 4)
MARTS = (
    "main.group_customer_register",
    "main.credit_group_exposure",
    "main.marketing_scoring_features",
    "main.marketing_propensity_scores",
    "main.model_development_dataset",
)


def _day(n: int) -> dt.date:
    return AS_OF + dt.timedelta(days=n)


def _privacy_events(wh, rng: random.Random, day: dt.date) -> dict:
    """A day's consent, objection and cookie events for persons and visitors drawn with ``rng``."""
    ids = [n for (n,) in _query(wh, "select national_id from main.group_customer_register")]
    visitors = [v for (v,) in _query(wh, "select distinct visitor_id from raw_web.page_views")]
    scopes = table("privacy", "objections").column("scope").allowed

    def at(i: int) -> str:
        return f"{day.isoformat()}T08:{i:02d}:00+01:00"

    return {
        ("privacy", "group_sharing_consents"): [
            {
                "national_id": n,
                "event_time": at(i),
                "consent": rng.choice(("granted", "withdrawn")),
                "channel": "online_bank",
            }
            for i, n in enumerate(rng.sample(sorted(ids), 6))
        ],
        ("privacy", "objections"): [
            {
                "national_id": n,
                "scope": rng.choice(scopes),
                "event_time": at(i),
                "action": rng.choice(("object", "withdraw")),
            }
            for i, n in enumerate(rng.sample(sorted(ids), 4))
        ],
        ("privacy", "cookie_consents"): [
            {
                "visitor_id": v,
                "event_time": at(i),
                "marketing_cookies": rng.choice(("true", "false")),
            }
            for i, v in enumerate(rng.sample(sorted(visitors), 4))
        ],
    }


def _deliver_again(landing, source: str, name: str, day: dt.date, rng: random.Random) -> int:
    """``day``'s file of ``source.name`` delivered again with every other record corrected (a
    new checksum for a day the warehouse has loaded). Returns the records changed."""
    t = table(source, name)
    path = landing / source / name / f"{day.isoformat()}.csv"
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, records = rows[0], [tuple(r) for r in rows[1:]]
    ids = national_id_pool(t, records)
    new = [corrected(t, r, rng, ids) if i % 2 == 0 else r for i, r in enumerate(records)]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *new])
    path.write_text(out.getvalue(), encoding="utf-8")
    return sum(a != b for a, b in zip(records, new, strict=True))


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    from dagster_project.landing.generate import generate

    root = tmp_path_factory.mktemp("daily_days")
    rng = random.Random(20261107)
    out: dict = {}
    with pytest.MonkeyPatch.context() as mp:
        platform_env(mp, root / "daily", KEY)
        from catalog.settings import settings

        daily = settings()
        landing, wh = daily.landing_dir, daily.warehouse
        generate(landing, persons=400, seed=23, as_of=AS_OF, progress=False)
        assert _run().success
        before = _tables(wh)
        for n in DAYS:
            mp.setenv("FJORDBANK_DATA_DIR", str(root / "daily"))
            events = _privacy_events(wh, rng, _day(n))
            if n == 4:
                (erased,) = rng.sample(
                    sorted(i for (i,) in _query(wh, "select national_id from raw_bank.customers")),
                    1,
                )
                events[("privacy", "erasure_requests")] = [
                    {
                        "request_id": "DAYS-1",
                        "national_id": erased,
                        "received_at": f"{_day(n).isoformat()}T09:00:00+01:00",
                    }
                ]
            next_delivery(landing, _day(n), every=9, correct=2, seed=n, extra=events)
            if n == 2:
                # a late delivery of every table, dated before every file loaded so far
                next_delivery(landing, AS_OF - dt.timedelta(days=3), every=13, correct=3, seed=7)
            if n == 3:
                out["redelivered"] = _deliver_again(landing, "bank", "customers", _day(1), rng)
            result = _run()
            assert result.success, n
            after = _tables(wh)
            shutil.copytree(root / "daily", root / f"full{n}")
            mp.setenv("FJORDBANK_DATA_DIR", str(root / f"full{n}"))
            result = _run(full=True)
            assert result.success, n
            out[n] = {
                "daily": after,
                "full": _tables(settings().warehouse),
                "marts_changed": [m for m in MARTS if after[m] != before[m]],
            }
            shutil.rmtree(root / f"full{n}")
            before = after
        out["erased"] = _query(
            wh, "select count(*) from raw_bank.customers where national_id = ?", erased
        )[0][0]
        yield out


@pytest.mark.parametrize("day", DAYS)
def test_each_day_the_daily_run_equals_a_full_rebuild(days, day):
    daily, full = days[day]["daily"], days[day]["full"]
    assert sorted(daily) == sorted(full)
    differing = [name for name in daily if daily[name] != full[name]]
    assert differing == [], differing


@pytest.mark.parametrize("day", DAYS)
def test_each_day_changed_the_outputs(days, day):
    """The oracle proves something only if the days change what the platform publishes."""
    assert len(days[day]["marts_changed"]) >= 3, days[day]["marts_changed"]


def test_the_sequence_held_a_redelivered_day_and_an_erasure(days):
    assert days["redelivered"] > 0
    assert days["erased"] == 0
