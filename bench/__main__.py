"""Run the benchmarks and print one table; results also go to data/bench/results.json.

python -m bench                      all of them (long: generates 1,000,000 and 10,000,000 persons)
python -m bench --only lineage       one of them
python -m bench --quick              smaller sizes, for a smoke run

Each benchmark runs with the environment the command started with (one that sets variables for
its runs does not pass them on to the next), and results.json is written again after every row.
A benchmark that fails is reported and the others still run; the command then exits 1 naming
it, with every figure measured so far in results.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from bench import scoped_environ
from catalog.settings import settings

BENCHMARKS = (
    "generator",
    "materialise",
    "daily",
    "lineage",
    "lineage_corpus",
    "policy",
    "spark",
    "rights",
)


def median_time(fn, repeats: int) -> tuple[float, list[float]]:
    """Median wall time of ``fn()`` over ``repeats`` runs, and every run's time."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.3f}" if v < 100 else f"{v:,.0f}"
    return str(v)


def _write(out: Path, rows: list[dict]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2, default=str))


def run_benchmarks(names: Sequence[str], *, quick: bool, out: Path) -> list[str]:
    """Run the benchmarks ``bench.<name>`` in turn, each in the starting environment, printing
    every row and writing all rows so far to ``out`` after each; return the names that failed."""
    rows: list[dict] = []
    failed: list[str] = []
    for name in names:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            print(f"[{name}] not available: {exc}")
            continue
        print(f"[{name}] running ...", flush=True)
        kwargs = module.QUICK if quick and hasattr(module, "QUICK") else {}
        try:
            with scoped_environ():
                for row in module.run(**kwargs):
                    rows.append(row)
                    _write(out, rows)
                    print("  " + "  ".join(f"{k}={_fmt(v)}" for k, v in row.items()), flush=True)
        except (Exception, SystemExit) as exc:  # the other benchmarks' figures still count
            traceback.print_exc()
            print(f"[{name}] failed: {type(exc).__name__}: {exc}", flush=True)
            failed.append(name)
    _write(out, rows)
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=BENCHMARKS, action="append")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    out = settings().data_dir / "bench" / "results.json"
    failed = run_benchmarks(args.only or BENCHMARKS, quick=args.quick, out=out)
    print(f"\nresults: {out}")
    if failed:
        sys.exit(
            f"benchmarks failed: {', '.join(failed)} (tracebacks above); the figures of the "
            f"others are in {out}"
        )


if __name__ == "__main__":
    main()
