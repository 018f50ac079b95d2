"""Scorecard of the lake's signals: the model, the shipped signal, long-only, always-majority and the oracle.

Per horizon, pooled over every instrument (`ALL`) and over the instruments the simulated world's oracle covers
(`ORACLE_SET`): hit rate, IC and Sharpe after NEXUS_COST_BPS, all out of sample, and the fraction of the oracle's
Sharpe and IC the signal captures.

- Without NEXUS_BENCH_SEEDS: the lake of the current settings (build it with `make run`).
- With NEXUS_BENCH_SEEDS="7,11": one simulated world per seed, each in its own lake under NEXUS_BENCH_WORLDS
  (default `<tmp>/nexus-bench-worlds/seed-<n>`), built by `nexus run` with NEXUS_SEED=<n> when it has no models yet
  (~2-4 min each), then scored the same way; the last figures are the D+5 signal's worst world and the model's
  Sharpe in it, what a decision rule is judged on (it must hold in every world, not only the default one).
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from assets.models.assets import stage_config
from assets.signals.scorecard import ORACLE_SET, lake_scorecard, oracle_capture
from assets.signals.stage import signal_config
from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from tests.bench.common import BIN, Figure, isolated_env, run_measured, since

SHOWN = ("lightgbm", "signal", "ensemble", "long_only", "majority", "oracle")
WORLD_SHOWN = ("lightgbm", "signal", "long_only", "majority", "oracle")


def _has_models(storage: LakeStorage) -> bool:
    return storage.exists(storage.uri("gold", "models", "oos_predictions", "_delta_log"))


def _rows(card: pd.DataFrame, pool: str, models: tuple[str, ...], prefix: str = "") -> list[Figure]:
    rows = card[(card["symbol"] == pool) & card["model"].isin(models)].sort_values(["horizon", "model"])
    figures = []
    for row in rows.itertuples():
        hit = f"{row.hit_rate:.3f}" if row.hit_rate is not None else "-"
        ic = f"{row.ic:+.3f}" if row.ic is not None and row.ic == row.ic else "-"
        figures.append(
            Figure(
                f"{prefix}{pool} D+{row.horizon} {row.model}: Sharpe after costs",
                row.sharpe if row.sharpe is not None else float("nan"),
                "",
                f"hit {hit} | IC {ic} | coverage {row.coverage:.2f}",
            )
        )
    return figures


def _captures(card: pd.DataFrame, prefix: str = "") -> list[Figure]:
    figures = []
    for model in ("signal", "lightgbm"):
        for row in oracle_capture(card, model).itertuples():
            ic_share = row.ic_captured if row.ic_captured is not None else float("nan")
            figures.append(
                Figure(
                    f"{prefix}D+{row.horizon} {model}: share of the oracle's Sharpe captured",
                    row.sharpe_captured if row.sharpe_captured is not None else float("nan"),
                    "",
                    f"goal >= 0.5 at D+5 | IC share {ic_share:.2f}",
                )
            )
    return figures


def current_lake() -> list[Figure]:
    settings = get_settings()
    storage = LakeStorage.from_settings(settings)
    if not _has_models(storage):
        return [Figure(f"scorecard: no models in {settings.lake_uri} (run `make run` first)", 0.0, "")]
    started = time.perf_counter()
    seed = settings.seed if settings.source_mode == "simulated" else None
    signals_config = signal_config(settings.cost_bps, settings.decision_time_utc)
    card = lake_scorecard(storage, stage_config(settings), signals_config, seed)
    figures = [Figure(f"scorecard: signals rebuilt and {card['model'].nunique()} models scored", since(started), "s")]
    for pool in ("ALL", ORACLE_SET) if seed is not None else ("ALL",):
        figures += _rows(card, pool, SHOWN)
    return figures + (_captures(card) if seed is not None else [])


def world(seed: int, root: Path) -> tuple[pd.DataFrame, list[Figure]]:
    """The scorecard of the simulated world `seed`, building its lake under `root` first when it has no models."""
    storage = LakeStorage(root_uri=str(root / "lake"))
    figures = []
    if not _has_models(storage):
        env = isolated_env(root, NEXUS_SEED=str(seed))
        seconds, _ = run_measured([str(BIN / "nexus"), "run"], env)
        figures.append(Figure(f"seed {seed}: lake built by `nexus run`", seconds, "s", str(root)))
    started = time.perf_counter()
    settings = get_settings()
    signals_config = signal_config(settings.cost_bps, settings.decision_time_utc)
    card = lake_scorecard(storage, stage_config(settings), signals_config, seed)
    figures.append(Figure(f"seed {seed}: signals rebuilt and scored", since(started), "s"))
    return card, figures


def worlds(seeds: list[int], base: Path) -> list[Figure]:
    figures, d5 = [], {}
    for seed in seeds:
        card, built = world(seed, base / f"seed-{seed}")
        figures += built + _rows(card, ORACLE_SET, WORLD_SHOWN, f"seed {seed} ") + _captures(card, f"seed {seed} ")
        pooled = card[(card["symbol"] == ORACLE_SET) & (card["horizon"] == 5)].set_index("model")["sharpe"]
        d5[seed] = (pooled.get("signal", math.nan), pooled.get("lightgbm", math.nan), pooled.get("oracle", math.nan))
    worst = min(d5, key=lambda s: d5[s][0])
    signal, model, oracle = d5[worst]
    figures.append(
        Figure(
            f"worst world (seed {worst}) D+5 signal: Sharpe after costs",
            signal,
            "",
            f"model {model:+.2f} | oracle {oracle:+.2f} | per seed "
            + ", ".join(f"{s}: {v[0]:+.2f} vs model {v[1]:+.2f}" for s, v in d5.items()),
        )
    )
    return figures


def run() -> list[Figure]:
    seeds = [int(s) for s in os.environ.get("NEXUS_BENCH_SEEDS", "").replace(",", " ").split()]
    if not seeds:
        return current_lake()
    base = Path(os.environ.get("NEXUS_BENCH_WORLDS", Path(tempfile.gettempdir()) / "nexus-bench-worlds"))
    return worlds(seeds, base)


if __name__ == "__main__":
    for figure in run():
        print(figure.line(), flush=True)
