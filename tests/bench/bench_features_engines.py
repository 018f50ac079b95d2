"""fct_features_daily on both engines (dbt-duckdb, Spark local[2]) at 1x, 4x and 16x the default universe.

The lake is bench_marts_scale's: the simulated default lake over 10 years with every instrument's silver rows
copied k - 1 times under new names (prices and COT markets), so dbt and Spark see a universe k times as wide.
At each scale dbt builds the mart's upstream models once, their marts are published to gold, and then each
engine rebuilds gold/marts/fct_features_daily from them in its own process (`rebuild_features`, what
`nexus backfill features --engine local|spark` runs):
- local: `dbt build --select fct_features_daily` (the model and its data tests) in a dbt process, then its
  publication to gold; its peak is the dbt process's (ru_maxrss). dbt's start-up and parse are in its time (what
  `nexus backfill features --engine local` costs); the model's own execution (run_results) is printed beside it;
- spark: a fresh local[2] session, the job (read the gold marts, compute, stage, row checks, one commit); its
  peak is the Python driver's plus its JVM's and Python workers' (VmHWM, summed: an upper bound).
CPU seconds (load-independent, unlike wall time on a shared machine) are the whole process's: getrusage of it and
its waited-for children (dbt), plus /proc's counters of the Spark JVM and its workers. Rows/s is the mart's rows
over the engine's own time (Spark: without the session start, printed apart). At scales
<= 4 the two gold tables are compared (content hash). Scales whose predicted time exceeds
NEXUS_BENCH_FEATURES_BUDGET_S (default 300 s) are not run but extrapolated (time ~ rows^k, k fitted on the measured
scales), as is 100x, and printed marked "extrapolated". Break-even: each engine's time as fixed + rows / rate
through its two largest measured scales; a cluster of n nodes keeps Spark's fixed cost and divides its marginal.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from tests.bench.bench_backfill import Fit, Point, _break_even, _extrapolate, _fit
from tests.bench.common import Figure, growth_exponent, isolated_env, run_measured, scratch

ENGINES = ("local", "spark")
CLUSTER = 10
_JOB = (
    "import json,os,time;from resources.settings import get_settings;"
    "from resources.spark.features_job import rebuild_features;"
    "spark=None;began=time.perf_counter()\n"
    "if '{engine}'=='spark':\n"
    " from resources.spark.session import SparkConfig,build_session;spark=build_session(SparkConfig())\n"
    "start=time.perf_counter()-began;r=rebuild_features(get_settings(),'{engine}',spark=spark)\n"
    "jvm=jvm_cpu=0.0\n"
    "if spark is not None:\n"
    " from tests.bench.bench_backfill import jvm_peak_mb;jvm=jvm_peak_mb()\n"
    " from tests.bench.bench_features_engines import jvm_cpu_seconds;jvm_cpu=jvm_cpu_seconds()\n"
    "import resource;u=[resource.getrusage(w) for w in (resource.RUSAGE_SELF,resource.RUSAGE_CHILDREN)]\n"
    "cpu=sum(x.ru_utime+x.ru_stime for x in u)+jvm_cpu\n"
    "open(os.environ['BENCH_OUT'],'w').write(json.dumps({{'rows':r.rows,'seconds':r.seconds,'start':start,"
    "'jvm_mb':jvm,'cpu':cpu}}))"
)


def jvm_cpu_seconds() -> float:
    """CPU seconds (user + system, own and waited-for children) of this process's Spark JVM and its Python workers:
    the JVM is not a waited-for child of the driver, so getrusage never includes it."""
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    gateway = getattr(getattr(context, "_gateway", None), "proc", None)
    if gateway is None:
        return 0.0
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
    tree = {gateway.pid}
    for _ in range(4):  # the JVM, its worker daemon, the daemon's forked workers
        tree |= {pid for pid, st in stats.items() if int(st[1]) in tree}
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(sum(int(v) for v in stats[pid][11:15]) / ticks for pid in tree if pid in stats)


def _upstream(settings, root: Path) -> dict[str, float]:
    """dbt runs every model (the profile: each model's own execution time from run_results.json); the marts
    fct_features_daily reads are published to gold."""
    from resources.lake.gold import publish_to_delta
    from resources.lake.storage import LakeStorage
    from resources.marts_build import run_dbt
    from resources.spark.features_job import INPUTS

    run_dbt(["run"], settings, target_path=root / "dbt_target")
    results = json.loads((root / "dbt_target" / "run_results.json").read_text())["results"]
    publish_to_delta(LakeStorage.from_settings(settings), settings.duckdb_path, [("marts", n) for n in INPUTS])
    return {
        r["unique_id"].rsplit(".", 1)[-1]: float(r["execution_time"])
        for r in results
        if r["unique_id"].startswith("model.")
    }


def _engine(engine: str, env: dict[str, str]) -> dict[str, float]:
    """rows, seconds (the engine's own), start (Spark's session start), wall, peak_mb of one run in its process."""
    wall, peak = run_measured([sys.executable, "-c", _JOB.format(engine=engine)], env)
    out = json.loads(Path(env["BENCH_OUT"]).read_text())
    return {**out, "wall": wall, "peak_mb": peak + out["jvm_mb"]}


def _gold_hash(lake: Path, version: int | None = None) -> str:
    from deltalake import DeltaTable

    from resources.lake.delta import content_hash

    table = DeltaTable(str(lake / "gold" / "marts" / "fct_features_daily"), version=version)
    return content_hash(table.to_pyarrow_table())


def _measure(base_root: Path, settings, scale: int) -> dict[str, dict[str, float]]:
    """Both engines' figures at `scale`, the parity verdict (scales <= 4) and dbt's per-model profile."""
    from deltalake import DeltaTable

    from tests.bench.bench_marts_scale import _scale_lake

    root = scratch()
    shutil.copytree(base_root / "lake", root / "lake")
    scaled = settings.model_copy(update={"lake_uri": str(root / "lake"), "duckdb_path": root / "wh" / "nexus.duckdb"})
    if scale > 1:
        _scale_lake(scaled, scale)
    profile = _upstream(scaled, root)
    env = isolated_env(root, BENCH_OUT=str(root / "out.json"))
    env["NEXUS_DUCKDB_PATH"] = str(scaled.duckdb_path)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path.cwd()), env.get("PYTHONPATH")]))
    figures = {"local": _engine("local", env)}
    by_dbt = DeltaTable(str(root / "lake" / "gold" / "marts" / "fct_features_daily")).version()
    figures["spark"] = _engine("spark", env)
    if scale <= 4:
        figures["parity"] = {"equal": float(_gold_hash(root / "lake", by_dbt) == _gold_hash(root / "lake"))}
    figures["profile"] = profile
    shutil.rmtree(root, ignore_errors=True)
    return figures


def show_profile(profiles: dict[int, dict[str, float]], show, top: int = 6) -> None:
    """The slowest models at the largest measured scale, each with its growth exponent over the measured scales
    and its time at 100x extrapolated from the largest scale with that exponent (how the bottleneck was chosen)."""
    if len(profiles) < 2:
        return
    scales = sorted(profiles)
    largest = profiles[scales[-1]]
    for model in sorted(largest, key=largest.get, reverse=True)[:top]:
        times = [profiles[s].get(model, 0.0) for s in scales]
        k = growth_exponent([float(s) for s in scales], times)
        at_100 = times[-1] * (100 / scales[-1]) ** k
        measured = ", ".join(f"{s}x {t:.1f} s" for s, t in zip(scales, times, strict=True))
        show(Figure(f"dbt model {model}: 100x extrapolated (k={k:.2f})", at_100, "s", measured))


def run() -> list[Figure]:
    from tests.bench.bench_marts_scale import _base_lake

    scales = [int(s) for s in os.environ.get("NEXUS_BENCH_FEATURES_SCALES", "1,4,16").split(",")]
    budget = float(os.environ.get("NEXUS_BENCH_FEATURES_BUDGET_S", "300"))
    figures = [Figure("load average (1 min) at start, 2 cores shared", os.getloadavg()[0], "")]

    def show(figure: Figure) -> None:
        print(figure.line(), flush=True)
        figures.append(figure)

    base_root = scratch()
    settings = _base_lake(base_root, 10)
    measured: dict[str, list[Point]] = {e: [] for e in ENGINES}
    profiles: dict[int, dict[str, float]] = {}
    for scale in sorted({*scales, 100}):
        predicted = {e: _extrapolate(measured[e], scale)[0] for e in ENGINES if len(measured[e]) >= 2}
        slowest = max((p.seconds for p in predicted.values()), default=0.0)
        if scale == 100 or slowest > budget:
            for engine, point in predicted.items():
                k = _extrapolate(measured[engine], scale)[1]
                label = f"features {engine} {scale}x, extrapolated (time ~ rows^{k:.2f})"
                show(Figure(f"{label}: rows/s", point.rows / point.seconds, "rows/s", f"{point.rows:,} rows"))
                show(Figure(f"{label}: seconds", point.seconds, "s"))
                show(Figure(f"{label}: peak memory", point.peak_mb, "MB"))
            continue
        print(f"  fct_features_daily at {scale}x ...", flush=True)
        result = _measure(base_root, settings, scale)
        profiles[scale] = result.pop("profile")
        model = profiles[scale].get("fct_features_daily", float("nan"))
        show(Figure(f"features dbt {scale}x: the model's own execution (run_results)", model, "s", "no dbt start-up"))
        for engine in ENGINES:
            r = result[engine]
            measured[engine].append(Point(scale, int(r["rows"]), r["seconds"], r["peak_mb"]))
            name = f"features {engine} {scale}x"
            show(Figure(f"{name}: rows/s", r["rows"] / r["seconds"], "rows/s", f"{int(r['rows']):,} rows"))
            show(Figure(f"{name}: seconds (engine's own)", r["seconds"], "s", f"process {r['wall']:.1f} s"))
            show(
                Figure(
                    f"{name}: CPU seconds (whole process{', JVM, workers' if engine == 'spark' else ''})",
                    r["cpu"],
                    "cpu-s",
                )
            )
            show(Figure(f"{name}: peak memory", r["peak_mb"], "MB", "+JVM, workers" if engine == "spark" else ""))
            if engine == "spark":
                show(Figure(f"{name}: session start (not in its rows/s)", r["start"], "s"))
        if "parity" in result:
            show(
                Figure(
                    f"features {scale}x: Spark table == dbt table (content hash)", result["parity"]["equal"], "1=yes"
                )
            )
    show_profile(profiles, show)
    for engine in ENGINES:
        points = measured[engine]
        if len(points) >= 2:
            k = growth_exponent([p.rows for p in points], [p.seconds for p in points])
            show(Figure(f"features {engine}: growth exponent (time ~ rows^k)", k, "k", "1 = linear"))
    fits: dict[str, Fit | None] = {e: _fit([(p.rows, p.seconds, p.peak_mb) for p in measured[e]]) for e in ENGINES}
    if fits["local"] and fits["spark"]:
        for nodes in (1, CLUSTER):
            rows = _break_even(fits["local"], fits["spark"], nodes)
            note = "extrapolated (fit of the two largest measured scales)"
            show(Figure(f"features break-even, Spark on {nodes} node(s)", rows or float("nan"), "rows", note))
    shutil.rmtree(base_root, ignore_errors=True)
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure.line(), flush=True)
