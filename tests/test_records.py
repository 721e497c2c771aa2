"""The record scanner the purge and the sweep use (catalog/retention/records.py), checked
against a plain line-by-line reading of the same rules on thousands of random files."""

from __future__ import annotations

import random

import numpy as np
import pytest

from catalog.retention import records
from catalog.retention.records import Records, file_records

PIECES = [b"a", b"bc", b",", b'"', b'""', b"\n", b"\r\n", b"\r", b" ", b'x"y', b"\n\n"]


def reference(data: bytes) -> tuple[list[bytes], list[int], list[int]]:
    """Physical lines (with their newline) and records (start line, span), one line at a time:
    line 1 is the header, a record starts outside quotes on a line that is not only CR/LF, and
    ends on the line that closes its quotes (an unterminated quote takes the rest)."""
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces = [p + b"\n" for p in pieces[:-1]]
    else:
        pieces = [p + b"\n" for p in pieces[:-1]] + pieces[-1:]
    starts, spans = [], []
    in_quotes = bool(pieces) and pieces[0].count(b'"') % 2 == 1
    start = 0
    for i, p in enumerate(pieces[1:], start=2):
        if not in_quotes:
            if not p.strip(b"\r\n"):
                continue
            start = i
        in_quotes ^= p.count(b'"') % 2 == 1
        if not in_quotes:
            starts.append(start)
            spans.append(i - start + 1)
    if in_quotes:
        starts.append(start)
        spans.append(len(pieces) - start + 1)
    return pieces, starts, spans


def random_file(rng: random.Random) -> bytes:
    header = rng.choice([b"h", b"a,b", b'"h', b""])
    body = b"".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 40)))
    sep = rng.choice([b"\n", b"\r\n", b""])
    return header + sep + body


@pytest.mark.parametrize("block", [1 << 26, 3])
def test_records_match_a_line_by_line_reading_of_random_files(monkeypatch, block):
    monkeypatch.setattr(records, "_BLOCK", block)  # block edges inside lines and quotes
    rng = random.Random(20261206)
    for _ in range(3000):
        data = random_file(rng)
        pieces, starts, spans = reference(data)
        r = Records(data)
        assert (r.starts.tolist(), r.spans.tolist(), r.lines) == (starts, spans, len(pieces)), data
        assert r.line_start.tolist() == np.cumsum([0] + [len(p) for p in pieces]).tolist()
        # cutting any records out leaves every other byte, and the others move up
        delete = {s for s in starts if s > 0 and rng.random() < 0.4}
        dropped = {
            line
            for s, n in zip(starts, spans, strict=True)
            if s in delete
            for line in range(s, s + n)
        }
        kept = b"".join(data[b:e] for b, e in r.kept_ranges(delete))
        assert kept == b"".join(p for i, p in enumerate(pieces, 1) if i not in dropped), data
        old, new = r.moves(delete)
        expected = [
            (s, s - sum(n for d, n in zip(starts, spans, strict=True) if d in delete and d < s))
            for s in starts
            if s not in delete
        ]
        assert list(zip(old.tolist(), new.tolist(), strict=True)) == [
            (s, t) for s, t in expected if s != t
        ]


def test_a_file_is_mapped_and_an_empty_file_has_no_records(tmp_path):
    path = tmp_path / "2026-01-01.csv"
    path.write_bytes(b"")
    assert (file_records(path).starts.tolist(), file_records(path).lines) == ([], 0)
    path.write_bytes(b'id,note\n1,"two\nlines"\n\n2,x')
    r = file_records(path)
    assert (r.starts.tolist(), r.spans.tolist(), r.size) == ([2, 5], [2, 1], 26)
