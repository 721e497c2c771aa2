"""Run the benchmarks and print one table; results also go to data/bench/results.json.

python -m bench                      all of them (long: generates 1,000,000 and 10,000,000 persons)
python -m bench --only lineage       one of them
python -m bench --quick              smaller sizes, for a smoke run
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import time

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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=BENCHMARKS, action="append")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    out = settings().data_dir / "bench" / "results.json"  # before benchmarks change the env
    rows: list[dict] = []
    for name in args.only or BENCHMARKS:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            print(f"[{name}] not available: {exc}")
            continue
        print(f"[{name}] running ...", flush=True)
        kwargs = module.QUICK if args.quick and hasattr(module, "QUICK") else {}
        for row in module.run(**kwargs):
            rows.append(row)
            print("  " + "  ".join(f"{k}={_fmt(v)}" for k, v in row.items()), flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2, default=str))
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
