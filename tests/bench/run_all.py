"""`make bench`: print every benchmark figure (scripts that print, not tests that assert).

`make bench` runs them all, one after another, and prints the total time at the end;
`make bench BENCH="cot fred"` or `python -m tests.bench.run_all cot fred` runs the modules whose name contains a
word, e.g. `BENCH=limits` for the figures beside their limits, `BENCH=scale` for the growth exponents.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import tests.bench as _bench

# every tests/bench/bench_*.py module with a run() -> list[Figure]
MODULES = sorted(f"tests.bench.{m.name}" for m in pkgutil.iter_modules(_bench.__path__) if m.name.startswith("bench_"))


def main(selected: list[str]) -> int:
    chosen = [name for name in MODULES if not selected or any(s in name for s in selected)]
    if not chosen:
        print(f"no benchmark module matches {' '.join(selected)}; modules: {', '.join(MODULES)}", file=sys.stderr)
        return 2
    print(f"{'figure':<62} {'value':>10} {'unit':<6} target")
    print("-" * 110)
    total = time.perf_counter()
    for number, name in enumerate(chosen, 1):
        print(f"[{number}/{len(chosen)}] {name}", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(name)
        try:
            figures = module.run()
        except Exception as exc:  # a broken benchmark must not hide the others
            print(f"{name}: FAILED ({type(exc).__name__}: {str(exc)[:300]})")
            continue
        for figure in figures:
            print(figure.line(), flush=True)
        print(f"  ({name} took {time.perf_counter() - started:.0f} s)", flush=True)
    print(f"make bench: {len(chosen)} modules in {time.perf_counter() - total:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
