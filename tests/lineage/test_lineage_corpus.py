"""The corpus benchmark's harness (bench/lineage_corpus.py) and the engine's score on it."""

from __future__ import annotations

from pathlib import Path

from bench import lineage_corpus as corpus


def case(sql: str, expected: list[list[str]], schema: dict | None = None) -> dict:
    return {"id": "t", "sql": sql, "dialect": "ansi", "schema": schema or {}, "expected": expected}


ENGINE = corpus.ENGINES["engine"]


def test_insert_with_a_column_list_maps_by_position() -> None:
    c = case("INSERT INTO tgt (x, y) SELECT a, b + 1 FROM src", [])
    assert corpus.case_edges(c, ENGINE) == {("src.a", "tgt.x"), ("src.b", "tgt.y")}


def test_insert_maps_by_position_when_the_target_is_known() -> None:
    c = case(
        "INSERT OVERWRITE TABLE s.tgt PARTITION (dt=1) SELECT a, b FROM s.src",
        [],
        schema={"s.src": ["a", "b"], "s.tgt": ["dt", "x", "y"]},
    )
    c["dialect"] = "hive"
    assert corpus.case_edges(c, ENGINE) == {("s.src.a", "s.tgt.x"), ("s.src.b", "s.tgt.y")}


def test_statements_chain_end_to_end() -> None:
    c = case("CREATE TABLE tmp AS SELECT a AS b FROM src; INSERT INTO tgt SELECT b FROM tmp", [])
    assert corpus.case_edges(c, ENGINE) == {("src.a", "tgt.b")}


def test_update_and_merge_become_selects() -> None:
    update = case("UPDATE tgt SET v = s.w FROM src AS s WHERE s.id = tgt.id", [])
    assert corpus.case_edges(update, ENGINE) == {("src.w", "tgt.v")}
    merge = case(
        "MERGE INTO tgt USING src ON tgt.k = src.k "
        "WHEN MATCHED THEN UPDATE SET tgt.v = src.v "
        "WHEN NOT MATCHED THEN INSERT (k, v) VALUES (src.k, 1)",
        [],
    )
    assert corpus.case_edges(merge, ENGINE) == {("src.v", "tgt.v"), ("src.k", "tgt.k")}


def test_unaliased_expressions_are_named_after_their_sql() -> None:
    c = case("INSERT INTO tab1 SELECT max(col1) FROM tab2", [["tab2.col1", "tab1.max(col1)"]])
    assert corpus.is_unaliased(c)
    assert corpus.case_edges(c, ENGINE) == corpus.expected_edges(c)


def test_case_conditions_and_windows_count_as_sources_only_in_the_corpus_reading() -> None:
    c = case(
        "INSERT INTO t SELECT CASE WHEN a > 0 THEN b END AS c FROM s",
        [["s.a", "t.c"], ["s.b", "t.c"]],
    )
    assert corpus.score(ENGINE, [c])[0].match
    assert not corpus.score(corpus.ENGINES["engine_direct_only"], [c])[0].match


def test_shared_dir_follows_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FJORDBANK_SHARED_DIR", str(tmp_path))
    assert corpus.shared_dir() == tmp_path
    assert corpus.corpus_path() is None
    assert corpus.run() == []  # skipped with a message, no rows


def test_engine_score_on_the_public_corpus(shared_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("FJORDBANK_SHARED_DIR", str(shared_dir))
    cases = corpus.load_cases()
    results = corpus.score(ENGINE, cases)
    rate = sum(r.match for r in results) / len(results)
    assert len(cases) == 188
    assert rate >= 0.85, f"exact-match rate fell to {rate:.3f}"
