"""Figures beside their limits (issue 15), part one: each figure next to the best that can be done with the same
work, measured in the same run, as a ratio. The whole-graph half (dbt against DuckDB alone, `nexus run` against
its assets' own compute) is bench_limits_graph.py.

- COT parse of a real annual file against `pyarrow.csv` reading the same bytes (the floor: no typing, checks or
  tidy rows) and against `pandas.read_csv` (what peer libraries do);
- the silver merge (`merge_versioned`: scan, plan versions, one Delta merge commit) against a plain delta-rs
  append of the same rows into the same empty table;
- walk-forward training (D+5, the default pooled half-yearly schedule) against `lightgbm.train` alone on the
  same matrices: every `lightgbm.train` call walk-forward makes is recorded, then replayed alone on the same
  binned `lightgbm.Dataset`s, parameters and rounds (the rest is panel preparation, binning, calibration and
  out-of-sample prediction).
"""

from __future__ import annotations

import io
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import lightgbm
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from deltalake import write_deltalake

from resources.lake.bronze import RawPayload
from resources.lake.delta import merge_versioned, read_table
from resources.lake.storage import LakeStorage
from resources.settings import Settings
from resources.sources.cot.ingest import ingest_cot
from resources.sources.cot.parser import parse_cot_payload
from resources.sources.cot.spec import LEGACY_POSITIONS
from tests.bench.common import REAL_DATA_DIR, Figure, beside, median_seconds, scratch, since

REAL_COT_FILES = ("legacy_futures_only/deacot2004_annual.txt", "tff_futures_only/FinFut_2024.txt")


def cot_parse_figures() -> list[Figure]:
    figures: list[Figure] = []
    for name in REAL_COT_FILES:
        path = REAL_DATA_DIR / "cot" / name
        if not path.is_file():
            figures.append(Figure(f"COT parse {path.name}: skipped, real file absent ({path})", 0, ""))
            continue
        data = path.read_bytes()
        payload = RawPayload("cot", "bench", str(path), data, datetime.now(UTC))
        rows = parse_cot_payload(payload).table.num_rows
        ours = median_seconds(lambda p=payload: parse_cot_payload(p))
        floor = median_seconds(lambda d=data: pacsv.read_csv(io.BytesIO(d)))
        peers = median_seconds(lambda d=data: pd.read_csv(io.BytesIO(d), low_memory=False))
        figures.append(
            beside(
                f"COT parse real {path.name} ({len(data) / 1e6:.1f} MB, {rows:,} rows)",
                ours,
                "s",
                {"pyarrow.csv": floor, "pandas.read_csv": peers},
            )
        )
    return figures


def _silver_rows() -> pa.Table:
    """Ten years of silver COT Legacy rows (simulated publisher), without the columns the merge computes."""
    settings = Settings(lake_uri=str(scratch() / "lake"), source_mode="simulated")
    storage = LakeStorage.from_settings(settings)
    ingest_cot(storage, settings, run_id="bench", start=date(2016, 1, 1), end=date(2025, 12, 31), reports=("legacy",))
    rows = read_table(storage, LEGACY_POSITIONS)
    shutil.rmtree(storage.root_uri, ignore_errors=True)
    return rows.drop_columns(["version", "is_revision"])


def silver_merge_figures(repeats: int = 3) -> list[Figure]:
    rows = _silver_rows()
    fetched = datetime.now(UTC)
    merge_times, append_times = [], []
    for _ in range(repeats):
        root = scratch()
        storage = LakeStorage(root_uri=str(root / "merge"))
        started = time.perf_counter()
        stats = merge_versioned(storage, LEGACY_POSITIONS, rows, revision_available_at=fetched)
        merge_times.append(since(started))
        written = read_table(storage, LEGACY_POSITIONS)
        assert stats.added == rows.num_rows == written.num_rows, (stats, rows.num_rows)
        target = str(root / "append")
        started = time.perf_counter()
        write_deltalake(target, written, mode="append")
        append_times.append(since(started))
        shutil.rmtree(root, ignore_errors=True)
    return [
        beside(
            f"silver merge, COT Legacy 10y into an empty table ({rows.num_rows:,} rows)",
            min(merge_times),
            "s",
            {"delta-rs append": min(append_times)},
        )
    ]


@dataclass
class _TrainCalls:
    """Every `lightgbm.train` call made while recording (its arguments) and the wall time spent inside them."""

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    seconds: float = 0.0


def _record_train(record: _TrainCalls):
    original = lightgbm.train

    def recording(*args, **kwargs):
        record.calls.append((args, kwargs))
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            record.seconds += since(started)

    return original, recording


def _replay(record: _TrainCalls) -> float:
    """Seconds for `lightgbm.train` alone: the recorded calls again, on the same (already binned) Datasets."""
    started = time.perf_counter()
    for args, kwargs in record.calls:
        lightgbm.train(*args, **kwargs)
    return since(started)


def walk_forward_figures() -> list[Figure]:
    from assets.models.walk_forward import WalkForwardConfig, walk_forward
    from tests.unit.test_walk_forward import make_synthetic_panel

    features, labels = make_synthetic_panel(n_symbols=12, years=10.0)
    config = WalkForwardConfig().for_horizon(5)
    record = _TrainCalls()
    original, recording = _record_train(record)
    lightgbm.train = recording
    try:
        started = time.perf_counter()
        result = walk_forward(features, labels, config)
        total = since(started)
    finally:
        lightgbm.train = original
    floor = _replay(record)
    return [
        beside(
            f"walk-forward D+5, 12 symbols x 10 years ({len(result.cutoffs)} models, {len(record.calls)} fits)",
            total,
            "s",
            {"lightgbm.train alone": floor},
        ),
        Figure("  of which inside lightgbm.train during walk-forward (same run)", record.seconds, "s"),
    ]


def run() -> list[Figure]:
    return [*cot_parse_figures(), *silver_merge_figures(), *walk_forward_figures()]


if __name__ == "__main__":
    for figure in run():
        print(figure.line(), flush=True)
