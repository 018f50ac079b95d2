"""Where a fresh process's ingest and marts start-up CPU goes, each beside what it costs with this pass's caches.

Each figure is CPU seconds of a fresh interpreter (`time.process_time`, the work alone, not its imports), so the
caches of this process do not hide anything: the simulated world built vs loaded from the disk cache
(resources/simulated/world_cache.py), importing Great Expectations (what the first silver suite pays), and dbt
parsing the project into a new target folder in full vs from the code location's partial-parse state
(resources/dbt_inprocess._seed_partial_parse).
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.bench.common import PROJECT_ROOT, Figure, isolated_env, scratch

_WORLD = """
import json, sys, time
from pathlib import Path
from resources.simulated.world_cache import cached_world
cache = Path(sys.argv[1])
started = time.process_time()
cached_world(7, cache)
print(json.dumps({"seconds": time.process_time() - started}))
"""

_IMPORT = """
import json, time
import pandas, dagster, scipy.stats  # already loaded by a run before its first suite
started = time.process_time()
import great_expectations
print(json.dumps({"seconds": time.process_time() - started}))
"""

_PARSE = """
import json, sys, time
from pathlib import Path
from resources import dbt_inprocess
dbt_inprocess.CODE_LOCATION_TARGET = Path(sys.argv[2])
started = time.process_time()
dbt_inprocess.parsed_manifest(Path(sys.argv[1]))
print(json.dumps({"seconds": time.process_time() - started}))
"""


def _cpu(code: str, *args: str, env: dict[str, str] | None = None) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=True
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def run() -> list[Figure]:
    root = scratch()
    cache = root / "cache"
    built = _cpu(_WORLD, str(cache))  # empty cache: simulated, then written
    loaded = _cpu(_WORLD, str(cache))
    gx = _cpu(_IMPORT)
    env = isolated_env(root)
    code_location, nightly = root / "target", root / "nightly"
    full = _cpu(_PARSE, str(code_location), str(code_location), env=env)  # a full parse, as `dbt parse` does
    seeded = _cpu(_PARSE, str(nightly), str(code_location), env=env)
    return [
        Figure("simulated world, built in a new process (CPU)", built, "s", f"from the cache {loaded:.3f} s"),
        Figure("import great_expectations after pandas+dagster+scipy (CPU)", gx, "s", "first silver suite pays it"),
        Figure("dbt parse into a new target, in full (CPU)", full, "s", f"from the code location state {seeded:.2f} s"),
    ]


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
