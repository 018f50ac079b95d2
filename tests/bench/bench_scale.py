"""Scale (issue 15): ingest, models and personas at 1x, 4x and 16x the default number of instruments and at 10
and 30 years, with each stage's growth exponent (the log-log slope of time on size; 1 is linear). Marts at scale
are bench_marts_scale.py. `NEXUS_BENCH_SCALES` (default 1,4,16) and `NEXUS_BENCH_SCALE_STAGES` (default
models,personas,ingest) choose what runs. The exponent is fitted to CPU seconds (this process and the processes it
waited for): on a shared machine wall time mostly measures the neighbours' load; wall time is printed beside it.

What "k x the instruments" means per stage (the simulated world has a fixed set of markets, so larger universes
are renamed copies of it, the way resources/simulated/fred.write_scaled_files scales FRED):
- ingest: FRED files mode (parse, bronze, write-audit-publish into silver) of 10 x k simulated CSV downloads
  (10 is the default universe's FRED series count), years of history up to the end of 2025 (30 years starts
  before the simulated world's first day, 2000-01-03, so "30 years" holds 26);
- models: the production training step (`train_at_cutoff`, D+5 pooled, one model with calibration) on the
  synthetic marts panel (tests/unit/test_walk_forward.make_synthetic_panel, 12 symbols) drawn k times with other
  seeds, the copies under new symbols; the fit stops early on its validation rows, so its number of trees, and
  with it the time, also depends on the data;
- personas: all six outputs for one day from the persona inputs with every instrument copied k - 1 times under
  new symbols, series and CFTC codes (prices, features and signals copied with them).
"""

from __future__ import annotations

import os
import resource
import shutil
import time
from datetime import date, timedelta

import pandas as pd

from tests.bench.common import Figure, growth_exponent, scratch, since

SCALES = tuple(int(s) for s in os.environ.get("NEXUS_BENCH_SCALES", "1,4,16").split(","))
YEARS = (10, 30)
DEFAULT_FRED_SERIES = 10
AS_OF = date(2025, 12, 31)
WORLD_START = date(2000, 1, 3)  # the simulated world's first day: publisher data holds no more history


def held_years(years: int) -> float:
    """Years of publisher history a window of `years` up to AS_OF really holds (30 holds about 26)."""
    return min(float(years), (AS_OF - WORLD_START).days / 365.25)


def _timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its waited-for children) of `fn()`."""
    wall, cpu = time.perf_counter(), _cpu()
    fn()
    return since(wall), _cpu() - cpu


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _exponents(stage: str, unit: str, costs: dict[int, float], details: dict[int, str]) -> Figure:
    """The growth exponent of `costs` over the sizes, with each size's figures shown beside it."""
    sizes = sorted(costs)
    slope = growth_exponent([float(s) for s in sizes], [costs[s] for s in sizes])
    shown = ", ".join(f"{s}{unit} {details[s]}" for s in sizes)
    verdict = "linear or better" if slope <= 1.15 else "FASTER THAN LINEAR"
    axis = "instruments" if unit == "x" else "years"
    return Figure(f"growth exponent {stage} vs {axis}", slope, "", f"{verdict}: {shown}")


def _cpu_exponents(stage: str, unit: str, points: dict[int, tuple[float, float]]) -> Figure:
    """Fitted to CPU seconds (on a shared machine wall time mostly measures the neighbours); wall shown beside."""
    details = {s: f"{cpu:.1f} cpu-s ({wall:.1f} s wall)" for s, (wall, cpu) in points.items()}
    return _exponents(stage, unit, {s: cpu for s, (_, cpu) in points.items()}, details)


# ---------------------------------------------------------------------------------------------------- ingest
def ingest_seconds(scale: int, years: int) -> tuple[float, float]:
    from resources.lake.storage import LakeStorage
    from resources.settings import Settings
    from resources.simulated.fred import write_scaled_files
    from resources.sources.fred.ingest import ingest_fred

    root = scratch()
    folder = root / "files"
    write_scaled_files(folder, 7, AS_OF, series=DEFAULT_FRED_SERIES * scale, years=years)
    settings = Settings(lake_uri=str(root / "lake"), source_mode="files")
    storage = LakeStorage.from_settings(settings)
    timed = _timed(lambda: ingest_fred(storage, settings, run_id="bench-scale", start=None, end=None, files=[folder]))
    shutil.rmtree(root, ignore_errors=True)
    return timed


# ---------------------------------------------------------------------------------------------------- models
def scaled_panel(scale: int, years: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic marts panel (12 symbols) drawn `scale` times with other seeds, copies under new symbols."""
    from tests.unit.test_walk_forward import make_synthetic_panel

    start = AS_OF - timedelta(days=round(365.25 * years))
    features, labels = [], []
    for k in range(1, scale + 1):
        f, y = make_synthetic_panel(n_symbols=12, start=start, years=float(years), seed=7 + k - 1)
        if k > 1:
            f, y = f.assign(symbol=f["symbol"] + f"X{k}"), y.assign(symbol=y["symbol"] + f"X{k}")
        features.append(f)
        labels.append(y)
    return pd.concat(features, ignore_index=True), pd.concat(labels, ignore_index=True)


def model_seconds(scale: int, years: int) -> tuple[float, float]:
    from assets.models.walk_forward import WalkForwardConfig, train_at_cutoff

    features, labels = scaled_panel(scale, years)
    cutoff = (pd.Timestamp(features["trade_date"].max()) - pd.Timedelta(days=30)).date()
    models: list = []
    timed = _timed(lambda: models.extend(train_at_cutoff(features, labels, WalkForwardConfig().for_horizon(5), cutoff)))
    assert len(models) == 1
    return timed


# -------------------------------------------------------------------------------------------------- personas
def _copy_symbols(frame: pd.DataFrame, copies: int) -> pd.DataFrame:
    if "symbol" not in frame.columns or frame.empty:
        return frame
    parts = [frame] + [frame.assign(symbol=frame["symbol"].astype(str) + f"X{k}") for k in range(2, copies + 1)]
    return pd.concat(parts, ignore_index=True)


def scaled_universe(universe, copies: int):
    """The universe with every instrument copied `copies - 1` times: symbol, price series and CFTC code renamed."""
    instruments = list(universe.instruments)
    for k in range(2, copies + 1):
        for inst in universe.instruments:
            cot = inst.cot.model_copy(update={"market_code": f"X{chr(ord('A') + k)}{inst.cot.market_code[2:]}"})
            price = inst.price.model_copy(update={"series": f"{inst.price.series}X{k}"})
            instruments.append(inst.model_copy(update={"symbol": f"{inst.symbol}X{k}", "price": price, "cot": cot}))
    return type(universe).model_validate(
        {**universe.model_dump(), "instruments": [i.model_dump() for i in instruments]}
    )


def persona_seconds(scale: int, years: int) -> tuple[float, float]:
    from assets.personas.daily import build_all
    from assets.personas.inputs import PersonaInputs
    from tests.unit.test_personas_inputs import DAY, make_inputs

    base = make_inputs(start=DAY - timedelta(days=round(365.25 * years)))
    frames = {
        "signals": _copy_symbols(base.signals, scale),
        "features": _copy_symbols(base.features, scale),
        "prices": _copy_symbols(base.prices, scale),
        "energy": base.energy,
        "track_record": base.track_record,
        "universe": scaled_universe(base.universe, scale),
    }
    build_all(PersonaInputs(**frames), DAY)  # warm imports
    # new inputs for the timed day: the builders keep what does not depend on the day in the inputs' memo, so a
    # second build on the same inputs would time those lookups, not the day's work
    inputs = PersonaInputs(**frames)
    return _timed(lambda: build_all(inputs, DAY))


STAGES = {
    "models (one D+5 fit)": model_seconds,
    "personas (one day)": persona_seconds,
    "ingest (FRED files)": ingest_seconds,
}
PUBLISHER_DATA = {"ingest (FRED files)"}  # stages whose history is bounded by the simulated world's first day


def _stage(stage: str, measure) -> list[Figure]:
    measure(1, 4)  # warm-up on four years (the models need three): first-call imports and caches are not the work
    by_scale: dict[int, tuple[float, float]] = {}
    for scale in SCALES:
        by_scale[scale] = measure(scale, YEARS[0])
        print(
            f"  {stage} {scale}x, {YEARS[0]} years: {by_scale[scale][0]:.2f} s, {by_scale[scale][1]:.2f} cpu-s",
            flush=True,
        )
    by_years = {YEARS[0]: by_scale[1] if 1 in by_scale else measure(1, YEARS[0])}
    by_years[YEARS[1]] = measure(1, YEARS[1])
    print(
        f"  {stage} 1x, {YEARS[1]} years: {by_years[YEARS[1]][0]:.2f} s, {by_years[YEARS[1]][1]:.2f} cpu-s", flush=True
    )
    if stage in PUBLISHER_DATA:  # the exponent is fitted to the years the data holds
        by_years = {round(held_years(y)): point for y, point in by_years.items()}
    return [_cpu_exponents(stage, "x", by_scale), _cpu_exponents(stage, "y", by_years)]


def run() -> list[Figure]:
    figures: list[Figure] = [Figure("load average (1 min) at start, 2 cores shared", os.getloadavg()[0], "")]
    chosen = os.environ.get("NEXUS_BENCH_SCALE_STAGES", "models,personas,ingest").split(",")
    for stage, measure in STAGES.items():
        if not any(word in stage for word in chosen):
            continue
        try:
            figures += _stage(stage, measure)
        except Exception as exc:  # one stage failing must not hide the others' figures
            figures.append(Figure(f"{stage}: FAILED ({type(exc).__name__}: {str(exc)[:200]})", 0, ""))
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure.line(), flush=True)
