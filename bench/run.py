"""Run the benchmarks: `python -m bench.run [name ...]` from the repository root.

Measures the baselines first, then imports each bench/bench_*.py (sorted, or only those named:
`scheduling` or `bench_scheduling`) and calls its `run(baselines) -> dict`. Figures are printed,
never judged; a benchmark that raises is reported and the run goes on, exiting 1 at the end.
"""

import importlib
import shutil
import sys
import time
import traceback
from pathlib import Path

from bench import baselines as base

BENCH_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    """Benchmark module names (without the bench_ prefix), sorted."""
    return sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))


def _report_failure(what: str) -> None:
    print(f"!! {what} FAILED:", flush=True)
    traceback.print_exc(file=sys.stdout)
    sys.stdout.flush()


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def measure_baselines() -> tuple[dict, list[str]]:
    """Run every baseline; returns the merged figures and the names of those that failed."""
    figures, failed = {}, []
    for baseline in base.BASELINES:
        try:
            figures.update(baseline())
        except Exception:
            _report_failure(f"baseline {baseline.__name__}")
            failed.append(f"baseline {baseline.__name__}")
    return figures, failed


def run_benchmark(name: str, baselines: dict) -> dict:
    """Import bench.bench_<name> and call its run() with a copy of the baselines."""
    module = importlib.import_module(f"bench.bench_{name}")
    result = module.run(dict(baselines))
    if not isinstance(result, dict):
        raise TypeError(f"bench_{name}.run() returned {type(result).__name__}, not dict")
    return result


def main(argv: list[str]) -> int:
    sys.stdout.reconfigure(line_buffering=True)
    names = [a.removeprefix("bench_").removesuffix(".py") for a in argv] or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available()) or 'none'}")
        return 2

    tool = base.load_tool()
    if tool == "wrk":
        why = shutil.which("wrk")
    else:
        why = "BENCH_LOADER=python" if shutil.which("wrk") else "wrk not found on PATH"
        why = f"threads with http.client keep-alive; {why}"
    print(f"load generator: {tool} ({why})")
    print(f"redis: {base.redis_url()}")
    started = time.perf_counter()
    baselines, failed = measure_baselines()

    results = {}
    for name in names:
        print(f"\n== {name} (bench/bench_{name}.py) ==")
        began = time.perf_counter()
        try:
            results[name] = run_benchmark(name, baselines)
        except (Exception, SystemExit):
            _report_failure(f"bench_{name}")
            failed.append(f"bench_{name}")
            continue
        print(f"-- {name}: {time.perf_counter() - began:.1f} s")

    print("\n== summary ==")
    for name in names:
        if name in results:
            figures = ", ".join(f"{k}={_fmt(v)}" for k, v in results[name].items())
            print(f"{name}: {figures or '(no figures)'}")
    if not names:
        print("no bench_*.py modules found; baselines only")
    if failed:
        print(f"failed: {', '.join(failed)}")
    print(f"total {time.perf_counter() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
