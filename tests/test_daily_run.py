"""The incremental daily run on whole platform runs: after one more day's delivery of every table
(with a consent withdrawal, an objection and an erasure request in it), the daily run (ingest of
the new files only, incremental event models) gives every table row for row what a full rebuild
(`fjordbank run --full-refresh`) of the same landing data gives, and the consent change reaches
the outputs the same day."""

from __future__ import annotations

import datetime as dt
import shutil

import dagster as dg
import duckdb
import pytest

from catalog.pseudonym import hmac_sha256_hex

pytestmark = pytest.mark.slow

AS_OF = dt.date(2026, 11, 2)
NEXT_DAY = AS_OF + dt.timedelta(days=1)
KEY = b"test-key"
LATER = "2026-11-03T08:00:00+01:00"
MARKETING = (
    "marketing_scoring_features",
    "marketing_propensity_scores",
    "marketing_campaign_audience",
    "marketing_social_matching_audience",
)


def platform_env(mp: pytest.MonkeyPatch, data_dir, key: bytes) -> None:
    """The environment of platform runs on ``data_dir``: synthetic data, the pseudonym
    ``key``, no lineage events."""
    mp.setenv("FJORDBANK_DATA_DIR", str(data_dir))
    mp.setenv("FJORDBANK_SYNTHETIC_DATA", "true")
    mp.setenv("FJORDBANK_PSEUDONYM_KEY", key.decode())
    mp.setenv("OPENLINEAGE_DISABLED", "true")


def _run(*, full: bool = False) -> dg.ExecuteInProcessResult:
    from dagster_project.assets.ingest import FULL_REFRESH_TAG
    from dagster_project.definitions import defs

    with dg.DagsterInstance.ephemeral() as instance:
        return (
            defs()
            .resolve_job_def("build_everything")
            .execute_in_process(
                instance=instance,
                raise_on_error=False,
                tags={FULL_REFRESH_TAG: "true"} if full else {},
            )
        )


def _full_loads(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    """Ingest asset -> whether it reloaded its table fully."""
    out = {}
    for e in result.all_events:
        if e.event_type_value == "ASSET_MATERIALIZATION":
            mat = e.event_specific_data.materialization
            if "full_load" in mat.metadata:
                out[mat.asset_key.to_user_string()] = mat.metadata["full_load"].value
    return out


def _query(warehouse, sql: str, *params) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql, params).fetchall()


def _tables(warehouse) -> dict[str, list[tuple]]:
    """Every table of the warehouse but the registry, its rows sorted, without load ids."""
    out = {}
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        names = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_schema <> 'raw_meta' order by 1, 2"
        ).fetchall()
        for schema, name in names:
            cols = [
                c
                for (c,) in conn.execute(
                    "select column_name from information_schema.columns where table_schema = ? "
                    "and table_name = ? order by ordinal_position",
                    [schema, name],
                ).fetchall()
                if c != "_load_id"
            ]
            select = ", ".join(f'"{c}"' for c in cols)
            rows = conn.execute(f'select {select} from "{schema}"."{name}"').fetchall()
            out[f"{schema}.{name}"] = sorted(rows, key=repr)
    return out


def _run_sql(settings, model: str) -> str:
    """The SQL the last dbt build ran for ``model`` (dbt's run folder of the build)."""
    found = list((settings.dbt_target_path / "build" / "run").rglob(f"{model}.sql"))
    assert len(found) == 1, found
    return found[0].read_text()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Day 0 built; day 1 (a withdrawal and an objection) by the daily run, compared with a full
    rebuild of a copy; day 2 (an erasure request) likewise."""
    from dagster_project.landing.daily import next_delivery
    from dagster_project.landing.generate import generate

    root = tmp_path_factory.mktemp("daily_run")
    with pytest.MonkeyPatch.context() as mp:
        platform_env(mp, root / "daily", KEY)
        from catalog.settings import settings

        daily = settings()
        generate(daily.landing_dir, persons=600, seed=11, as_of=AS_OF, progress=False)
        assert _run().success
        wh = daily.warehouse
        nid = {
            hmac_sha256_hex(n, KEY): n
            for (n,) in _query(wh, "select national_id from main.group_customer_register")
        }
        investor_pid = _query(
            wh,
            "select person_id from main.marketing_scoring_features "
            "where securities_value_band is not null order by person_id limit 1",
        )[0][0]
        in_all = " intersect ".join(f"select person_id from main.{m}" for m in MARKETING)
        objector_pid = _query(
            wh,
            f"select person_id from ({in_all}) where person_id <> ? order by 1 limit 1",
            investor_pid,
        )[0][0]
        # a bank customer with logged-in page views and no case under a legal hold
        erased = _query(
            wh,
            "select national_id from raw_web.page_views where national_id is not null "
            "intersect select national_id from main.group_customer_register "
            "intersect select national_id from raw_bank.customers "
            "except select national_id from raw_risk.default_cases "
            "except select national_id from raw_risk.fraud_cases "
            "except select unnest(?) order by 1 limit 1",
            [nid[investor_pid], nid[objector_pid]],
        )[0][0]
        out = {
            "investor_pid": investor_pid,
            "objector_pid": objector_pid,
            "erased_pid": hmac_sha256_hex(erased, KEY),
        }
        days = {
            1: {
                ("privacy", "group_sharing_consents"): [
                    {
                        "national_id": nid[investor_pid],
                        "event_time": LATER,
                        "consent": "withdrawn",
                        "channel": "online_bank",
                    }
                ],
                ("privacy", "objections"): [
                    {
                        "national_id": nid[objector_pid],
                        "scope": "direct_marketing",
                        "event_time": LATER,
                        "action": "object",
                    }
                ],
            },
            2: {
                ("privacy", "erasure_requests"): [
                    {"request_id": "DAILY-1", "national_id": erased, "received_at": LATER}
                ],
            },
        }
        for day, extra in days.items():
            mp.setenv("FJORDBANK_DATA_DIR", str(root / "daily"))
            counts = next_delivery(
                daily.landing_dir, AS_OF + dt.timedelta(days=day), every=50, extra=extra
            )
            assert sum(n > 0 for n in counts.values()) >= 17, counts  # requests may be none
            result = _run()
            assert result.success
            out[day] = {
                "daily_loads": _full_loads(result),
                "daily": _tables(daily.warehouse),
                "page_views_sql": _run_sql(daily, "stg_web__page_views"),
                "customers_sql": _run_sql(daily, "stg_bank__customers"),
                "new_page_views": _query(
                    wh,
                    "select count(*) from main.stg_web__page_views where delivered_on = ?",
                    AS_OF + dt.timedelta(days=day),
                )[0][0],
            }
            if day == 1:
                out["consent_reached"] = _consent_reached(daily.warehouse, out)
            # the full rebuild: the same landing data and data dir, in a second warehouse
            shutil.copytree(root / "daily", root / f"full{day}")
            mp.setenv("FJORDBANK_DATA_DIR", str(root / f"full{day}"))
            result = _run(full=True)
            assert result.success
            out[day] |= {"full_loads": _full_loads(result), "full": _tables(settings().warehouse)}
        out["erased_gone"] = _query(
            wh,
            "select count(*) from main.group_customer_register where person_id = ?",
            out["erased_pid"],
        ) == [(0,)]
        out["erased_staged"] = [
            model
            for model in ("stg_web__page_views", "stg_bank__customers")
            if _query(wh, f"select 1 from main.{model} where national_id = ?", erased)
        ]
        yield out


def _consent_reached(wh, out) -> bool:
    """The withdrawn investor keeps no securities or funds value in any marketing output, and
    the objector is gone from every marketing output."""
    withdrawn = _query(
        wh,
        "select count(*) from main.marketing_scoring_features where person_id = ? "
        "and (securities_value_band is not null or fund_value_band is not null)",
        out["investor_pid"],
    ) == [(0,)]
    objected = all(
        _query(wh, f"select count(*) from main.{m} where person_id = ?", out["objector_pid"])
        == [(0,)]
        for m in MARKETING
    )
    return withdrawn and objected


@pytest.mark.parametrize("day", [1, 2])
def test_the_daily_run_reads_only_what_changed_and_the_full_refresh_everything(runs, day):
    daily_loads, full_loads = runs[day]["daily_loads"], runs[day]["full_loads"]
    assert len(daily_loads) == len(full_loads) == 18
    assert not any(daily_loads.values()), daily_loads
    assert all(full_loads.values()), full_loads
    assert runs[day]["new_page_views"] > 0  # the new day's file reached the event model


@pytest.mark.parametrize("day", [1, 2])
def test_the_daily_run_equals_a_full_rebuild_row_for_row(runs, day):
    daily, full = runs[day]["daily"], runs[day]["full"]
    assert sorted(daily) == sorted(full)
    assert [t for t in daily if t.startswith("main.stg_web")]  # the dbt models are compared too
    for name in daily:
        assert daily[name] == full[name], name


@pytest.mark.parametrize("model", ["page_views", "customers"])
def test_new_files_extend_the_staged_models_and_an_erasure_rebuilds_them(runs, model):
    # day 1 only appended files: the event model (page views) and the latest-per-key model of a
    # delivered table (customers) took the new rows (delete+insert) ...
    assert "delete from" in runs[1][f"{model}_sql"]
    # ... day 2's erasure rewrote delivered files: the model was rebuilt in full
    assert "delete from" not in runs[2][f"{model}_sql"]
    assert "create" in runs[2][f"{model}_sql"]


def test_the_consent_change_objection_and_erasure_reached_the_outputs_the_same_day(runs):
    assert runs["consent_reached"]
    assert runs["erased_gone"]
    assert runs["erased_staged"] == [], runs["erased_staged"]
