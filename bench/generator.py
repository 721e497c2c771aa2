"""Synthetic generator throughput vs. DuckDB's raw CSV write speed, and its peak memory at scale.

Per repeat, each in a fresh child process (so its peak RSS is its own, read from
``getrusage(RUSAGE_SELF).ru_maxrss`` at its end):
- **generator**: ``generate(persons=...)`` of every landing table into a temporary directory;
- **baseline**: one DuckDB ``COPY`` to CSV of a trivial ``range()`` query (an id, a text, a
  decimal and a date column) with as many rows as the generator wrote in total.

Times are taken inside the child around the work itself (no interpreter start-up); medians over
the repeats. The ratio generator/baseline is what the realism costs over writing the same number
of rows; rows/s and the child's peak RSS are reported next to it.

**Scale** (second row): one more generator child at ``large`` persons (10,000,000 by default);
its peak RSS as a ratio of the median peak at ``persons`` (target <= 1.5: the generator's memory
must not grow with the number of persons), and its rows per second.

    python -m bench.generator [persons] [repeats] [large]
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

AS_OF = dt.date(2026, 11, 2)
QUICK = {"persons": 20_000, "repeats": 1, "large": 200_000}

_GENERATE = """
import datetime as dt, json, resource, sys, time
from pathlib import Path
from dagster_project.landing.generate import generate

out, persons, as_of = Path(sys.argv[1]), int(sys.argv[2]), dt.date.fromisoformat(sys.argv[3])
t0 = time.perf_counter()
counts = generate(out, persons=persons, seed=42, as_of=as_of, progress=False)
elapsed = time.perf_counter() - t0
print(json.dumps({"elapsed": elapsed, "rows": sum(counts.values()),
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

_BASELINE = """
import json, resource, sys, time
import duckdb

out, rows = sys.argv[1], int(sys.argv[2])
con = duckdb.connect()
t0 = time.perf_counter()
con.execute(
    "COPY (SELECT range AS id, 'row-' || CAST(range AS VARCHAR) AS label, "
    "CAST((range % 1000000) / 100 AS DECIMAL(18, 2)) AS amount, "
    "CAST(DATE '2020-01-01' + CAST(range % 3650 AS INTEGER) AS DATE) AS day "
    f"FROM range({rows})) TO '{out}' (FORMAT csv, HEADER true, DELIMITER ',')"
)
elapsed = time.perf_counter() - t0
print(json.dumps({"elapsed": elapsed, "rows": rows,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; its one line of JSON output."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _generate(persons: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="fjordbank-bench-gen-") as tmp:
        return _child(_GENERATE, str(Path(tmp) / "landing"), str(persons), str(AS_OF))


def run(persons: int = 1_000_000, repeats: int = 3, large: int | None = 10_000_000) -> list[dict]:
    gen_runs, base_runs = [], []
    for _ in range(repeats):
        gen_runs.append(_generate(persons))
        with tempfile.TemporaryDirectory(prefix="fjordbank-bench-csv-") as tmp:
            base_runs.append(
                _child(_BASELINE, str(Path(tmp) / "range.csv"), str(gen_runs[-1]["rows"]))
            )
    rows = gen_runs[0]["rows"]
    gen_s = statistics.median(r["elapsed"] for r in gen_runs)
    base_s = statistics.median(r["elapsed"] for r in base_runs)
    peak_mb = statistics.median(r["maxrss_kb"] for r in gen_runs) / 1024
    results = [
        {
            "benchmark": "generator",
            "case": f"{persons:,} persons",
            "median_s": gen_s,
            "baseline": "DuckDB COPY of a range() query, same row count, to CSV",
            "baseline_median_s": base_s,
            "ratio": gen_s / base_s,
            "rows": rows,
            "rows_per_s": rows / gen_s,
            "peak_rss_mb": peak_mb,
            "baseline_peak_rss_mb": statistics.median(r["maxrss_kb"] for r in base_runs) / 1024,
            "repeats": repeats,
        }
    ]
    if large:
        big = _generate(large)
        big_peak_mb = big["maxrss_kb"] / 1024
        results.append(
            {
                "benchmark": "generator",
                "case": f"{large:,} persons, peak memory",
                "median_s": big["elapsed"],
                "baseline": f"generator peak RSS at {persons:,} persons (median), same run",
                "baseline_peak_rss_mb": peak_mb,
                "peak_rss_mb": big_peak_mb,
                "ratio": big_peak_mb / peak_mb,
                "target_ratio": 1.5,
                "rows": big["rows"],
                "rows_per_s": big["rows"] / big["elapsed"],
                "repeats": 1,
            }
        )
    return results


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:4]]
    for row in run(*args):
        print(json.dumps(row, indent=2))
