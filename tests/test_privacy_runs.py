"""PRIVACY.md guarantees 7 and 8 on real runs: a consent withdrawal or an objection delivered
today reaches every output in the next run, and the blocking row checks catch rows that
disagree with the policy."""

from __future__ import annotations

import datetime as dt
import functools

import dagster as dg
import duckdb
import pytest

from catalog.pseudonym import hmac_sha256_hex
from tests.whole_run import (
    AS_OF,
    KEY,
    MARKETING,
    check_evaluations,
    generated_platform,
    query,
    run_build_everything,
)

KEY_CONTEXT = "model_development:"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with generated_platform(tmp_path_factory.mktemp("privacy_runs"), persons=600, seed=11) as s:
        yield s


def _checks(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    return {key: e.passed for key, e in check_evaluations(result).items()}


def _append(settings, source: str, table: str, header: str, rows: list[str]) -> None:
    day = AS_OF + dt.timedelta(days=1)
    path = settings.landing_dir / source / table / f"{day.isoformat()}.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")


def test_withdrawal_and_objection_reach_every_output_in_the_next_run(platform):
    first = run_build_everything()
    assert first.success
    checks = _checks(first)
    assert checks[("marketing_scoring_features", "no_unconsented_investment_values")]
    assert checks[("marketing_campaign_audience", "no_unconsented_investment_customers")]
    assert checks[("marketing_scoring_features", "no_unconsented_web_behaviour")]
    assert checks[("marketing_propensity_scores", "no_objectors")]
    assert checks[("model_development_dataset", "no_objectors")]
    assert checks[("statistics_customers_by_postcode_area", "min_cell_size")]
    assert checks[("marketing_propensity_scores", "scored_today")]

    # A consenting investor with a securities feature today ...
    investor_pid = query(
        platform,
        "select person_id from main.marketing_scoring_features "
        "where securities_value_band is not null order by person_id limit 1",
    )[0][0]
    # ... and a person in every marketing output.
    in_all = " intersect ".join(f"select person_id from main.{m}" for m in MARKETING)
    marketed_pid = query(
        platform,
        f"select person_id from ({in_all}) where person_id <> ? order by 1 limit 1",
        investor_pid,
    )[0][0]
    nid = {
        hmac_sha256_hex(n, KEY): n
        for (n,) in query(platform, "select national_id from main.group_customer_register")
    }
    investor, marketed = nid[investor_pid], nid[marketed_pid]
    assert investor != marketed
    # ... and a third person in the model-development data set.
    pseudonyms = {
        r[0] for r in query(platform, "select pseudonym from main.model_development_dataset")
    }
    developed_pid = next(
        p
        for p in sorted(nid)
        if p not in (investor_pid, marketed_pid)
        and _pseudonym(p) in pseudonyms
        and query(
            platform, "select count(*) from main.marketing_scoring_features where person_id = ?", p
        )
        == [(1,)]
    )
    developed = nid[developed_pid]

    # Tomorrow's delivery: the investor withdraws consent, the other person objects.
    later = "2026-11-03T08:00:00+01:00"
    _append(
        platform,
        "privacy",
        "group_sharing_consents",
        "national_id,event_time,consent,channel",
        [f"{investor},{later},withdrawn,online_bank"],
    )
    _append(
        platform,
        "privacy",
        "objections",
        "national_id,scope,event_time,action",
        [
            f"{marketed},direct_marketing,{later},object",
            f"{developed},model_development,{later},object",
        ],
    )

    second = run_build_everything()
    assert second.success
    assert all(_checks(second).values())
    # The withdrawn investor keeps no securities or funds value in any marketing output.
    assert query(
        platform,
        "select count(*) from main.marketing_scoring_features where person_id = ? "
        "and (securities_value_band is not null or fund_value_band is not null)",
        investor_pid,
    ) == [(0,)]
    # The objector is gone from every marketing output.
    for model in MARKETING:
        rows = query(
            platform, f"select count(*) from main.{model} where person_id = ?", marketed_pid
        )
        assert rows == [(0,)], model
    # ... and stays in the register (customer administration is not marketing).
    assert query(
        platform,
        "select count(*) from main.group_customer_register where person_id = ?",
        marketed_pid,
    ) == [(1,)]
    # The model-development objector is gone from the data set, and only from it.
    assert query(
        platform,
        "select count(*) from main.model_development_dataset where pseudonym = ?",
        _pseudonym(developed_pid),
    ) == [(0,)]
    assert query(
        platform,
        "select count(*) from main.marketing_scoring_features where person_id = ?",
        developed_pid,
    ) == [(1,)]


def _pseudonym(person_id: str) -> str:
    """The model-development pseudonym of a person: keyed_hash('model_development:' ||
    person_id), as the data set's SQL makes it."""
    return hmac_sha256_hex(KEY_CONTEXT + person_id, KEY)


def test_row_checks_fail_on_rows_that_break_the_policy(platform):
    """Tamper with the outputs the way a buggy model would, then run the planned checks."""
    from dagster_project.catalog_view import catalog_view
    from dagster_project.checks import plan_row_checks
    from dagster_project.project import dbt_project
    from dagster_project.translator import asset_key_for
    from dagster_project.warehouse_functions import register_functions

    if not platform.warehouse.exists():
        assert run_build_everything().success
    catalog = catalog_view(dbt_project().manifest_path)
    planned = plan_row_checks(
        catalog.graph,
        catalog.tags,
        catalog.policy,
        asset_key_for=functools.partial(asset_key_for, catalog.graph),
    )
    checks = {(c.model, c.name): c for c in planned}
    with duckdb.connect(str(platform.warehouse)) as conn:
        register_functions(conn, KEY)

        def offending(model: str, name: str) -> int:
            return conn.execute(checks[(model, name)].sql).fetchone()[0]

        assert offending("marketing_scoring_features", "no_unconsented_investment_values") == 0
        # A non-consenting person gets a securities band.
        conn.execute(
            """
            update main.marketing_scoring_features set securities_value_band = '1m+'
            where person_id = (
                select f.person_id from main.marketing_scoring_features f
                where f.securities_value_band is null order by 1 limit 1)
            """
        )
        assert offending("marketing_scoring_features", "no_unconsented_investment_values") == 1

        # A person only the securities unit knows, who never consented, is put into the
        # social-matching audience: being its customer is itself restricted (rule 3 by source).
        customers = ("marketing_social_matching_audience", "no_unconsented_investment_customers")
        assert offending(*customers) == 0
        known_elsewhere = " union ".join(
            f"select national_id from {schema}.{table} where national_id is not null"
            for schema, table in conn.execute(
                "select table_schema, table_name from information_schema.columns"
                " where column_name = 'national_id' and table_schema like 'raw_%'"
                " and table_schema not in ('raw_markets', 'raw_asset_management', 'raw_privacy')"
            ).fetchall()
        )
        outsider = conn.execute(
            f"""
            select fjordbank_hmac_sha256(national_id) from raw_markets.securities_accounts
            where national_id not in ({known_elsewhere})
              and national_id not in (select national_id from raw_privacy.group_sharing_consents)
            order by 1 limit 1
            """
        ).fetchone()[0]
        conn.execute(
            "insert into main.marketing_social_matching_audience (person_id, list_date)"
            " values (?, current_date)",
            [outsider],
        )
        assert offending(*customers) == 1

        # Web behaviour for a person seen only on visitors whose latest cookie choice is not
        # acceptance (a refusal, or a tie that the refusal wins).
        web = ("marketing_scoring_features", "no_unconsented_web_behaviour")
        assert offending(*web) == 0
        refuser = conn.execute(
            """
            with latest as (
                select visitor_id, marketing_cookies, row_number() over (
                    partition by visitor_id
                    order by event_time desc, case when marketing_cookies then 1 else 0 end
                ) as rn
                from raw_privacy.cookie_consents
            ), seen as (
                select distinct v.national_id, coalesce(l.marketing_cookies, false) as accepted
                from raw_web.page_views v
                left join latest l on l.visitor_id = v.visitor_id and l.rn = 1
                where v.national_id is not null
            )
            select f.person_id from main.marketing_scoring_features f
            join seen on fjordbank_hmac_sha256(seen.national_id) = f.person_id
            group by f.person_id having not bool_or(seen.accepted)
            order by 1 limit 1
            """
        ).fetchone()[0]
        assert conn.execute(
            "select loan_page_views_last_30d from main.marketing_scoring_features "
            "where person_id = ?",
            [refuser],
        ).fetchone() == (None,)
        conn.execute(
            "update main.marketing_scoring_features set loan_page_views_last_30d = 3 "
            "where person_id = ?",
            [refuser],
        )
        assert offending(*web) == 1

        # An objector to direct marketing is put back into the scores.
        objector = conn.execute(
            """
            select fjordbank_hmac_sha256(national_id) from raw_privacy.objections
            where scope = 'direct_marketing' and action = 'object'
              and national_id not in (select national_id from raw_privacy.objections
                                      where action = 'withdraw')
            limit 1
            """
        ).fetchone()[0]
        assert offending("marketing_propensity_scores", "no_objectors") == 0
        conn.execute(
            "insert into main.marketing_propensity_scores (person_id, scenario, score, scored_on)"
            " values (?, 'mortgage', 0.5, current_date)",
            [objector],
        )
        assert offending("marketing_propensity_scores", "no_objectors") == 1
        # a score of no person (null person_id) counts too: nothing shows it is no objector's
        conn.execute(
            "insert into main.marketing_propensity_scores (person_id, scenario, score, scored_on)"
            " values (null, 'mortgage', 0.5, current_date)"
        )
        assert offending("marketing_propensity_scores", "no_objectors") == 2
        conn.execute("delete from main.marketing_propensity_scores where person_id is null")

        # A model-development objector is put back into the pseudonymous data set, and a row
        # whose pseudonym belongs to no person (a wrongly declared key would look like that).
        md = ("model_development_dataset", "no_objectors")
        assert offending(*md) == 0
        md_objector = conn.execute(
            """
            select fjordbank_hmac_sha256(national_id) from raw_privacy.objections o
            where scope = 'model_development' and action = 'object'
              and not exists (select 1 from raw_privacy.objections w
                              where w.national_id = o.national_id and w.scope = o.scope
                                and w.action = 'withdraw' and w.event_time >= o.event_time)
            limit 1
            """
        ).fetchone()[0]
        conn.execute(
            "insert into main.model_development_dataset (pseudonym, extracted_on)"
            " values (?, current_date)",
            [_pseudonym(md_objector)],
        )
        assert offending(*md) == 1
        conn.execute(
            "insert into main.model_development_dataset (pseudonym, extracted_on)"
            " values (?, current_date)",
            [_pseudonym("not-a-person")],
        )
        assert offending(*md) == 2
        # a null pseudonym names no person: it counts too (fail closed), not only in the
        # model's not-null test
        conn.execute(
            "insert into main.model_development_dataset (pseudonym, extracted_on)"
            " values (null, current_date)"
        )
        assert offending(*md) == 3
        conn.execute("delete from main.model_development_dataset where pseudonym is null")

        # A stale score and a small statistics cell.
        conn.execute(
            "update main.marketing_propensity_scores set scored_on = current_date - 1 "
            "where person_id = ?",
            [objector],
        )
        assert offending("marketing_propensity_scores", "scored_today") == 1
        conn.execute(
            "update main.statistics_customers_by_postcode_area set customer_count = 2 "
            "where rowid = (select min(rowid) from main.statistics_customers_by_postcode_area)"
        )
        assert offending("statistics_customers_by_postcode_area", "min_cell_size") == 1
