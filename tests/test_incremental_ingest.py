"""The registry of loaded files (raw_meta.loaded_files): the ingest reads only what changed,
and the raw table always equals what a full load of the landing folder gives."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dagster_project.landing import load
from dagster_project.landing.load import ingest_table
from tests.test_ingest import deliver, row

DAY1, DAY2, DAY3 = "2024-03-01", "2024-03-02", "2024-03-03"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "landing").mkdir()
    return tmp_path / "landing"


@pytest.fixture
def conn(tmp_path: Path):
    c = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield c
    c.close()


def ingest(conn, root, *, full=False):
    return ingest_table(conn, "bank", "accounts", root, allow_synthetic=True, full=full)


def state(conn) -> tuple[list[tuple], list[tuple]]:
    """The raw rows (without the load id) and the quarantined rows of bank.accounts."""
    raw = conn.execute(
        "select * exclude (_load_id) from raw_bank.accounts order by _source_file, _source_line"
    ).fetchall()
    q = conn.execute(
        "select file, line, reason from quarantine.rejected_rows where source = 'bank' "
        "order by file, line"
    ).fetchall()
    return raw, q


def registry(conn) -> dict[str, tuple]:
    return {
        r[0]: r[1:]
        for r in conn.execute(
            "select file, sha256, size, rows_loaded, rows_quarantined, load_id "
            "from raw_meta.loaded_files where source = 'bank' and \"table\" = 'accounts'"
        ).fetchall()
    }


def full_load_of(root: Path, tmp_path: Path) -> tuple[list[tuple], list[tuple]]:
    """What a full load of the landing folder into a fresh warehouse gives."""
    other = duckdb.connect(str(tmp_path / f"full{len(list(tmp_path.glob('full*')))}.duckdb"))
    try:
        ingest(other, root, full=True)
        return state(other)
    finally:
        other.close()


def test_a_new_file_is_loaded_once_and_an_unchanged_one_never_again(conn, root, tmp_path):
    deliver(root, "bank", "accounts", [row("bank", "accounts", 1), row("bank", "accounts", 2)])
    first = ingest(conn, root)
    assert (first.full, first.files_read, first.rows_loaded) == (
        True,
        (f"bank/accounts/{DAY1}.csv",),
        2,
    )
    reg = registry(conn)
    assert reg[f"bank/accounts/{DAY1}.csv"][2:4] == (2, 0)

    deliver(root, "bank", "accounts", [row("bank", "accounts", 3, balance="x")], day=DAY2)
    second = ingest(conn, root)
    assert (second.full, second.files_read) == (False, (f"bank/accounts/{DAY2}.csv",))
    assert (second.rows_loaded, second.rows_quarantined, second.rows_read) == (2, 1, 1)
    assert second.reasons == {"bad type balance": 1}  # as a full load counts them
    # the first file kept its load; the new one got a later load id
    assert registry(conn)[f"bank/accounts/{DAY1}.csv"] == reg[f"bank/accounts/{DAY1}.csv"]
    assert registry(conn)[f"bank/accounts/{DAY2}.csv"][4] > reg[f"bank/accounts/{DAY1}.csv"][4]

    third = ingest(conn, root)
    assert (third.full, third.files_read, third.files_removed) == (False, (), ())
    assert state(conn) == full_load_of(root, tmp_path)


def test_a_file_delivered_again_with_new_content_replaces_its_rows(conn, root, tmp_path):
    deliver(root, "bank", "accounts", [row("bank", "accounts", 1)])
    deliver(root, "bank", "accounts", [row("bank", "accounts", 2, balance="x")], day=DAY2)
    ingest(conn, root)
    before = registry(conn)[f"bank/accounts/{DAY2}.csv"]

    deliver(
        root, "bank", "accounts", [row("bank", "accounts", 2), row("bank", "accounts", 4)], day=DAY2
    )
    r = ingest(conn, root)

    assert (r.full, r.files_read, r.files_removed) == (
        False,
        (f"bank/accounts/{DAY2}.csv",),
        (f"bank/accounts/{DAY2}.csv",),
    )
    after = registry(conn)[f"bank/accounts/{DAY2}.csv"]
    assert after[0] != before[0] and after[2:4] == (2, 0) and after[4] > before[4]
    raw, q = state(conn)
    assert q == []  # the old quarantine row left with its file
    assert len(raw) == 3
    assert (raw, q) == full_load_of(root, tmp_path)


def test_a_file_gone_from_the_landing_folder_takes_its_rows_with_it(conn, root, tmp_path):
    deliver(root, "bank", "accounts", [row("bank", "accounts", 1)])
    gone = deliver(root, "bank", "accounts", [row("bank", "accounts", 2, balance="x")], day=DAY2)
    ingest(conn, root)
    gone.unlink()

    r = ingest(conn, root)

    assert (r.full, r.files_read, r.files_removed) == (False, (), (f"bank/accounts/{DAY2}.csv",))
    assert (r.rows_loaded, r.rows_quarantined) == (1, 0)
    assert set(registry(conn)) == {f"bank/accounts/{DAY1}.csv"}
    assert state(conn) == full_load_of(root, tmp_path)


def test_rows_deleted_in_the_warehouse_are_noticed_and_their_file_reloaded(conn, root, tmp_path):
    deliver(root, "bank", "accounts", [row("bank", "accounts", 1), row("bank", "accounts", 2)])
    ingest(conn, root)
    conn.execute("delete from raw_bank.accounts where _source_line = 2")

    r = ingest(conn, root)

    assert r.files_read == (f"bank/accounts/{DAY1}.csv",)
    assert state(conn) == full_load_of(root, tmp_path)


def test_a_purged_file_is_not_read_again_and_the_raw_table_equals_a_full_load(conn, root, tmp_path):
    """An erasure or a retention sweep rewrites a landing file and deletes its rows in the
    warehouse in one purge; the registry row follows, so the next ingest reads nothing."""
    from catalog.retention.purge import PurgeTarget, purge

    rows = [row("bank", "accounts", n) for n in (1, 2, 3)]
    rows[2]["balance"] = "x"  # quarantined: its line moves up too
    deliver(root, "bank", "accounts", rows)
    deliver(root, "bank", "accounts", [row("bank", "accounts", 4)], day=DAY2)
    ingest(conn, root)
    before = registry(conn)
    first = f"bank/accounts/{DAY1}.csv"
    gone = conn.execute(
        "select account_no from raw_bank.accounts where _source_file = ? and _source_line = 2",
        [first],
    ).fetchone()[0]

    purge(
        conn,
        root,
        [PurgeTarget("bank", "accounts", raw_where="t.account_no = $a", params={"a": gone})],
        apply=True,
    )

    after = registry(conn)
    data = (root / first).read_bytes()
    assert after[first][:4] == (load.file_sha256(root / first), len(data), 1, 1)
    # a new load id, as a reload would give: the incremental models see the file changed
    assert after[first][4] > max(v[4] for v in before.values())
    assert conn.execute(
        "select distinct _load_id from raw_bank.accounts where _source_file = ?", [first]
    ).fetchall() == [(after[first][4],)]
    assert after[f"bank/accounts/{DAY2}.csv"] == before[f"bank/accounts/{DAY2}.csv"]
    r = ingest(conn, root)
    assert (r.files_read, r.files_removed) == ((), ())
    assert state(conn) == full_load_of(root, tmp_path)


def test_a_changed_contract_fingerprint_reloads_the_table_fully(conn, root, monkeypatch):
    deliver(root, "bank", "accounts", [row("bank", "accounts", 1)])
    deliver(root, "bank", "accounts", [row("bank", "accounts", 2)], day=DAY2)
    ingest(conn, root)
    assert ingest(conn, root).files_read == ()

    monkeypatch.setattr(load, "LOAD_CODE_VERSION", load.LOAD_CODE_VERSION + "-next")
    r = ingest(conn, root)

    assert r.full is True
    assert r.files_read == (f"bank/accounts/{DAY1}.csv", f"bank/accounts/{DAY2}.csv")
    fingerprints = conn.execute(
        "select distinct fingerprint from raw_meta.loaded_files where source = 'bank'"
    ).fetchall()
    assert fingerprints == [(r_fp,) for r_fp in [_fingerprint()]]
    assert ingest(conn, root).files_read == ()  # and is then incremental again


def _fingerprint() -> str:
    from dagster_project.landing.contract import table

    return load.contract_fingerprint(table("bank", "accounts"), allow_synthetic=True)


def test_full_reloads_every_file_and_a_failed_load_changes_nothing(conn, root, tmp_path):
    deliver(root, "bank", "accounts", [row("bank", "accounts", 1)])
    ingest(conn, root)
    assert ingest(conn, root, full=True).files_read == (f"bank/accounts/{DAY1}.csv",)
    before, reg = state(conn), registry(conn)

    bad = root / "bank" / "accounts" / f"{DAY3}.csv"
    bad.write_bytes(b"\x00\x01 not a csv\n")
    with pytest.raises(load.IngestError):
        ingest(conn, root)

    assert (state(conn), registry(conn)) == (before, reg)


def _hash_counter(monkeypatch) -> list[str]:
    """The files the ingest reads to hash them, from now on."""
    hashed: list[str] = []
    real = load.file_sha256

    def counting(path):
        hashed.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(load, "file_sha256", counting)
    return hashed


def test_a_registered_file_with_an_unchanged_stat_is_not_read_again(conn, root, monkeypatch):
    """Its stat signature (size, times, inode) stands for the bytes hashed when it loaded.
    RACY_NS at 0 here: the files were written a moment ago (see the next test)."""
    monkeypatch.setattr(load, "RACY_NS", 0)
    deliver(root, "bank", "accounts", [row("bank", "accounts", 1)])
    deliver(root, "bank", "accounts", [row("bank", "accounts", 2)], day=DAY2)
    hashed = _hash_counter(monkeypatch)
    ingest(conn, root)
    assert sorted(hashed) == [f"{DAY1}.csv", f"{DAY2}.csv"]  # once each, as they loaded
    signatures = conn.execute(
        "select count(stat_signature) from raw_meta.loaded_files where source = 'bank'"
    ).fetchone()[0]
    assert signatures == 2
    hashed.clear()

    deliver(root, "bank", "accounts", [row("bank", "accounts", 3)], day=DAY3)
    r = ingest(conn, root)

    assert r.files_read == (f"bank/accounts/{DAY3}.csv",)
    assert hashed == [f"{DAY3}.csv"]  # the new file only


def test_a_rewrite_with_the_same_size_and_modification_time_is_still_read(
    conn, root, tmp_path, monkeypatch
):
    """A delivery written again in place, byte count and modification time put back (as
    ``cp -p`` or ``rsync -t`` do): its status-change time moved, so it is hashed and reloaded."""
    monkeypatch.setattr(load, "RACY_NS", 0)
    import os

    path = deliver(root, "bank", "accounts", [row("bank", "accounts", 1, balance="100.00")])
    ingest(conn, root)
    st = path.stat()
    deliver(root, "bank", "accounts", [row("bank", "accounts", 1, balance="900.00")])
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)

    r = ingest(conn, root)

    assert r.files_read == (f"bank/accounts/{DAY1}.csv",)
    balances = conn.execute("select balance from raw_bank.accounts").fetchall()
    assert [float(b) for (b,) in balances] == [900.0]
    assert state(conn) == full_load_of(root, tmp_path)


def test_a_file_changed_just_before_it_was_hashed_is_hashed_again(conn, root, monkeypatch):
    """Written less than RACY_NS before its hash, a file gets no signature: another write in
    the same tick of the file system's clock would leave its stat as it was. The next ingest
    hashes it (unchanged: not reloaded) and records the signature it then has."""
    deliver(root, "bank", "accounts", [row("bank", "accounts", 1)])
    ingest(conn, root)
    (signature,) = conn.execute("select stat_signature from raw_meta.loaded_files").fetchone()
    assert signature is None
    hashed = _hash_counter(monkeypatch)
    monkeypatch.setattr(load, "RACY_NS", 0)  # as if the RACY_NS had passed since the write

    r = ingest(conn, root)

    assert (r.files_read, hashed) == ((), [f"{DAY1}.csv"])
    (signature,) = conn.execute("select stat_signature from raw_meta.loaded_files").fetchone()
    assert signature is not None
    hashed.clear()
    assert ingest(conn, root).files_read == () and hashed == []


def test_a_registry_from_before_stat_signatures_gets_the_column_and_reloads_nothing(
    conn, root, monkeypatch
):
    monkeypatch.setattr(load, "RACY_NS", 0)
    deliver(root, "bank", "accounts", [row("bank", "accounts", 1)])
    ingest(conn, root)
    conn.execute("alter table raw_meta.loaded_files drop column stat_signature")

    r = ingest(conn, root)

    assert (r.full, r.files_read) == (False, ())
    (signature,) = conn.execute("select stat_signature from raw_meta.loaded_files").fetchone()
    assert signature is not None
