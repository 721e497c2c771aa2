"""Where the records of a delivery file are, found with numpy over the file's bytes.

A CSV record is one physical line, or several when a quoted field holds newlines. The purge and
the sweep need each record's first line (the ``_source_line`` the ingest gave its row), how many
lines it spans, and the byte range of any line, for files of millions of lines: a loop in Python
over every line took seconds per file at 100,000 persons and was run once per file per erasure.
Here every step is a vectorised pass over the bytes (newlines, carriage returns and double quotes
are located in blocks, so the extra memory is a small multiple of the number of lines, never of
the file's size), and a file is mapped, not read, by :func:`file_records`.

The rules are those of the line numbers the ingest gives rows: line 1 is the header; a record
starts on a line that is outside quotes and not empty (an empty line holds nothing but ``\\r``
and ``\\n``); it ends on the first line after which the double quotes seen since the start of
the file are even again; an unterminated quote makes the rest of the file one record.

>>> r = Records(b'h\\r\\n1,"a\\r\\nb"\\r\\n\\r\\n2,c')
>>> r.starts.tolist(), r.spans.tolist(), r.lines
([2, 5], [2, 1], 5)
>>> r.kept_ranges({2})
[(0, 3), (13, 18)]
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import numpy as np

_BLOCK = 1 << 26  # bytes per vectorised pass: the boolean mask of one block is 64 MB at most
_LF, _CR, _QUOTE = 10, 13, 34


def _positions(data: np.ndarray, byte: int) -> np.ndarray:
    """Offsets of ``byte`` in ``data``, ascending (int64)."""
    parts = [np.flatnonzero(data[i : i + _BLOCK] == byte) + i for i in range(0, len(data), _BLOCK)]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


class Records:
    """The physical lines and the data records of a CSV file's bytes (``bytes`` or a map).

    ``line_start[i]`` is the byte offset of line ``i + 1``, ``line_start[lines]`` the size;
    ``starts`` the 1-based line each record starts on (ascending) and ``spans`` its lines."""

    def __init__(self, buf: bytes | mmap.mmap):
        data = np.frombuffer(buf, dtype=np.uint8) if len(buf) else np.zeros(0, np.uint8)
        self.size = size = len(data)
        newlines = _positions(data, _LF)
        ends = newlines + 1  # each line ends after its newline ...
        if size and (not len(newlines) or newlines[-1] != size - 1):
            ends = np.append(ends, size)  # ... but the last may have none
        self.lines = len(ends)
        self.line_start = np.concatenate(([0], ends)).astype(np.int64)
        self.starts, self.spans = self._records(data, ends, newlines)

    def _records(
        self, data: np.ndarray, ends: np.ndarray, newlines: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        n = self.lines
        if not n:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        begins = self.line_start[:-1]
        returns = _positions(data, _CR)
        has_newline = np.arange(n) < len(newlines)
        content = (
            (ends - begins)
            - has_newline
            - (np.searchsorted(returns, ends) - np.searchsorted(returns, begins))
        )
        quotes = _positions(data, _QUOTE)
        if not len(quotes):  # the common case: a record per non-empty line
            starts = np.flatnonzero(content[1:] > 0) + 2
            return starts.astype(np.int64), np.ones(len(starts), np.int64)
        even_after = np.searchsorted(quotes, ends) % 2 == 0  # quotes closed after each line
        outside = np.concatenate(([True], even_after[:-1]))  # ... before each line
        first = np.flatnonzero(outside[1:] & (content[1:] > 0)) + 1  # 0-based, header excluded
        if not even_after[0]:
            # The header leaves a quote open: what follows it up to the quote's end is one
            # record starting on "line 0", which no ingested row names (the purge fails closed).
            first = np.concatenate(([-1], first))
        closing = np.append(np.flatnonzero(even_after), n - 1)  # unterminated: to the end
        last = closing[np.searchsorted(closing, np.clip(first, 1, n - 1))]
        return (first + 1).astype(np.int64), (last - first + 1).astype(np.int64)

    def kept_ranges(self, delete: set[int]) -> list[tuple[int, int]]:
        """The byte ranges (begin, end) left when the records starting on the lines ``delete``
        are cut out, ascending: every other byte, unchanged and in order."""
        lines = sorted(delete)
        at, out = 0, []
        for line, i in zip(lines, np.searchsorted(self.starts, lines).tolist(), strict=True):
            if i >= len(self.starts) or self.starts[i] != line:
                raise KeyError(f"no record starts on line {line}")
            first = max(line, 1) - 1
            begin = int(self.line_start[first])
            if begin > at:
                out.append((at, begin))
            at = int(self.line_start[first + int(self.spans[i])])
        if at < self.size:
            out.append((at, self.size))
        return out

    def moves(self, delete: set[int]) -> tuple[np.ndarray, np.ndarray]:
        """The start lines (old, new) of the records kept that move when the records starting
        on ``delete`` are cut out (each moves up by the lines of the deleted records before
        it)."""
        gone = np.isin(self.starts, np.fromiter(delete, np.int64, len(delete)))
        shift = np.cumsum(np.where(gone, self.spans, 0))
        moved = ~gone & (shift > 0)
        return self.starts[moved], self.starts[moved] - shift[moved]


def file_records(path: Path) -> Records:
    """The records of the file at ``path``, its bytes mapped (read-only) while they are found."""
    with open(path, "rb") as f:
        if not os.fstat(f.fileno()).st_size:
            return Records(b"")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return Records(mapped)
