"""Scorecard of the lake's signals: the model, the shipped signal, long-only, always-majority and the oracle.

Runs on the lake of the current settings (build it with `make run`); per horizon, pooled over every instrument
(`ALL`) and over the instruments the simulated world's oracle covers (`ORACLE_SET`): hit rate, IC and Sharpe after
NEXUS_COST_BPS, all out of sample, and the fraction of the oracle's Sharpe and IC the signal captures.
"""

from __future__ import annotations

import time

from assets.models.assets import stage_config
from assets.signals.scorecard import ORACLE_SET, lake_scorecard, oracle_capture
from assets.signals.stage import signal_config
from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from tests.bench.common import Figure, since

SHOWN = ("lightgbm", "signal", "ensemble", "long_only", "majority", "oracle")


def run() -> list[Figure]:
    settings = get_settings()
    storage = LakeStorage.from_settings(settings)
    if not storage.exists(storage.uri("gold", "models", "oos_predictions", "_delta_log")):
        return [Figure(f"scorecard: no models in {settings.lake_uri} (run `make run` first)", 0.0, "")]
    started = time.perf_counter()
    seed = settings.seed if settings.source_mode == "simulated" else None
    card = lake_scorecard(storage, stage_config(), signal_config(settings.cost_bps, settings.decision_time_utc), seed)
    figures = [Figure(f"scorecard: signals rebuilt and {card['model'].nunique()} models scored", since(started), "s")]
    for pool in ("ALL", ORACLE_SET) if seed is not None else ("ALL",):
        rows = card[(card["symbol"] == pool) & card["model"].isin(SHOWN)].sort_values(["horizon", "model"])
        for row in rows.itertuples():
            hit = f"{row.hit_rate:.3f}" if row.hit_rate is not None else "-"
            ic = f"{row.ic:+.3f}" if row.ic is not None and row.ic == row.ic else "-"
            figures.append(
                Figure(
                    f"{pool} D+{row.horizon} {row.model}: Sharpe after costs",
                    row.sharpe if row.sharpe is not None else float("nan"),
                    "",
                    f"hit {hit} | IC {ic} | coverage {row.coverage:.2f}",
                )
            )
    if seed is not None:
        for model in ("signal", "lightgbm"):
            for row in oracle_capture(card, model).itertuples():
                ic_share = row.ic_captured if row.ic_captured is not None else float("nan")
                figures.append(
                    Figure(
                        f"D+{row.horizon} {model}: share of the oracle's Sharpe captured",
                        row.sharpe_captured if row.sharpe_captured is not None else float("nan"),
                        "",
                        f"goal >= 0.5 at D+5 | IC share {ic_share:.2f}",
                    )
                )
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure.line(), flush=True)
