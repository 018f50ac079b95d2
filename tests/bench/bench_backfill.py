"""Backfill throughput of both engines on a scaled simulated FRED lake: rows per second and peak memory.

1x is the default universe (the simulated FRED series, 10 years, two downloads each so revisions occur); 10x and
100x multiply the series. `NEXUS_BENCH_BACKFILL_SCALES=1,10,100` chooses the scales (default 1,10: 100x takes
long on this 2-core machine). The cluster pays off past the scale where the local engine's time per row stops
being flat or its memory nears the machine's, printed as the break-even row count from the measured rates.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path

from tests.bench.common import BIN, Figure, isolated_env, run_measured, scratch

AS_OF = (date(2025, 6, 30), date(2025, 12, 31))
DEFAULT_SERIES = 10


def _lake(root: Path, scale: int, env: dict[str, str]) -> None:
    from resources.simulated.fred import write_scaled_files

    for k, as_of in enumerate(AS_OF):
        write_scaled_files(root / f"files{k}", 7, as_of, series=DEFAULT_SERIES * scale, years=10)
        cmd = [str(BIN / "nexus"), "ingest", "fred", "--files", str(root / f"files{k}")]
        run_measured(cmd, env)


def _backfill(engine: str, env: dict[str, str]) -> tuple[float, float, int]:
    script = (
        "import json,os;from resources.lake.storage import LakeStorage;"
        "from resources.spark.backfill import run_backfill;"
        f"r=run_backfill(LakeStorage(root_uri=os.environ['NEXUS_LAKE_URI']),'fred',engine='{engine}',run_id='bench');"
        "open(os.environ['BENCH_OUT'],'w').write(json.dumps({'rows':r.rows,'seconds':r.seconds}))"
    )
    seconds, peak = run_measured([sys.executable, "-c", script], env)
    rows = json.loads(Path(env["BENCH_OUT"]).read_text())["rows"]
    return seconds, peak, rows


def run() -> list[Figure]:
    scales = [int(s) for s in os.environ.get("NEXUS_BENCH_BACKFILL_SCALES", "1,10").split(",")]
    figures: list[Figure] = []
    rates: dict[str, list[tuple[int, float]]] = {"local": [], "spark": []}
    for scale in scales:
        root = scratch()
        env = isolated_env(root, NEXUS_SOURCE_MODE="files", BENCH_OUT=str(root / "out.json"))
        _lake(root, scale, env)
        for engine in ("local", "spark"):
            seconds, peak, rows = _backfill(engine, env)
            rates[engine].append((rows, seconds))
            figures.append(Figure(f"backfill fred {scale}x {engine}: rows/s ({rows} rows)", rows / seconds, "rows/s"))
            figures.append(Figure(f"backfill fred {scale}x {engine}: peak memory", peak, "MB"))
    # break-even: rows where local time = spark time, from the largest measured scale's rates (fixed cost of Spark
    # = its time minus rows at its marginal rate); a cluster multiplies Spark's marginal rate by its cores.
    (l_rows, l_s), (s_rows, s_s) = rates["local"][-1], rates["spark"][-1]
    if len(rates["spark"]) > 1:
        (s_rows0, s_s0) = rates["spark"][0]
        marginal = (s_s - s_s0) / max(1, s_rows - s_rows0)
        fixed = max(0.0, s_s - marginal * s_rows)
        per_row_local = l_s / l_rows
        if per_row_local > marginal:
            figures.append(
                Figure("spark pays off past (rows, this machine)", fixed / (per_row_local - marginal), "rows")
            )
        else:
            figures.append(Figure("spark pays off past: not within the measured range", 0, "rows"))
    return figures
