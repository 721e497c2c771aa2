"""Fixtures of the Spark tests: the generated landing files and the DuckDB build the Spark
builds are compared with (once per module: each module runs in its own process)."""

from __future__ import annotations

import duckdb
import pytest

from tests.spark.builds import AS_OF, PERSONS, environment, materialise, rows_of


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    from dagster_project.landing.generate import generate

    root = tmp_path_factory.mktemp("landing")
    generate(root, persons=PERSONS, seed=11, as_of=AS_OF, progress=False)
    return root


@pytest.fixture(scope="module")
def duckdb_build(tmp_path_factory, landing):
    root = tmp_path_factory.mktemp("duckdb")
    with pytest.MonkeyPatch.context() as mp:
        environment(mp, root, landing, "duckdb")
        from catalog.settings import settings
        from dagster_project.project import dbt_project

        result = materialise()
        s = settings()
        manifest_path = dbt_project().manifest_path

        def fetch(relation: str):
            with duckdb.connect(str(s.warehouse), read_only=True) as conn:
                cur = conn.execute(f"select * from {relation}")
                return [d[0] for d in cur.description], cur.fetchall()

        yield result, rows_of(fetch, manifest_path), manifest_path
