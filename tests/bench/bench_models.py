"""Model figures on the synthetic 12 symbols x 10 years panel: walk-forward training of all six horizons, the
retraining cadence, pooled versus per-symbol models, thread count and label band (speed and out-of-sample quality),
inference throughput, evaluation and plots, and peak memory. It prints; it does not assert.

Quality is the pooled out-of-sample IC and directional balanced accuracy at D+5, the horizon of the planted effect
(the best possible IC on this panel, from the true sign, is about 0.07).
"""

from __future__ import annotations

import os
import time

import pandas as pd

from assets.models.evaluation import POOLED, cumulative_returns, evaluate
from assets.models.labels import HORIZONS, LabelConfig
from assets.models.lgbm import LGBMConfig
from assets.models.plots import evaluation_pngs
from assets.models.walk_forward import WalkForwardConfig, WalkForwardResult, walk_forward
from tests.bench.common import Figure, resource, since
from tests.unit.test_walk_forward import make_synthetic_panel

INFERENCE_ROWS = 300_000


def _quality(result: WalkForwardResult, features: pd.DataFrame, labels: pd.DataFrame) -> tuple[float, float]:
    report = evaluate(result.predictions, features, labels)
    pooled = next(m for m in report.metrics if m.symbol == POOLED)
    return pooled.ic or float("nan"), pooled.balanced_accuracy or float("nan")


def _variant(
    figures: list[Figure], label: str, features: pd.DataFrame, labels: pd.DataFrame, config: WalkForwardConfig
) -> float:
    started = time.perf_counter()
    result = walk_forward(features, labels, config)
    seconds = since(started)
    ic, ba = _quality(result, features, labels)
    figures.append(Figure(f"D+5 {label}: walk-forward ({len(result.cutoffs)} models)", seconds, "s"))
    figures.append(Figure(f"D+5 {label}: OOS IC x100 | BA x100", 100 * ic, "", f"BA {100 * ba:.1f}"))
    return seconds


def run() -> list[Figure]:
    figures: list[Figure] = [Figure("load average (1 min) at start, 2 cores shared", os.getloadavg()[0], "")]
    started = time.perf_counter()
    features, labels = make_synthetic_panel(n_symbols=12, years=10.0)
    figures.append(Figure(f"synthetic panel 12 symbols x 10 years ({len(features):,} rows)", since(started), "s"))

    # the default: pooled, half-yearly cutoffs, every horizon
    base = WalkForwardConfig()
    results: dict[int, WalkForwardResult] = {}
    started = time.perf_counter()
    for h in HORIZONS:
        t0 = time.perf_counter()
        results[h] = walk_forward(features, labels, base.for_horizon(h))
        figures.append(
            Figure(f"walk-forward D+{h} pooled, half-yearly ({len(results[h].cutoffs)} models)", since(t0), "s")
        )
    total = since(started)
    figures.append(Figure("walk-forward all six horizons, pooled, half-yearly", total, "s", "target <= 120 s"))

    predictions = pd.concat([r.predictions for r in results.values()], ignore_index=True)
    started = time.perf_counter()
    report = evaluate(predictions, features, labels)
    curves = cumulative_returns(predictions, features, labels)
    pngs = evaluation_pngs(report, curves)
    figures.append(
        Figure(f"evaluation + 3 plots, six horizons ({len(predictions):,} predictions)", since(started), "s")
    )
    figures.append(Figure("plots total size", sum(len(p) for p in pngs.values()) / 1024, "KB"))
    for m in report.metrics:
        if m.symbol == POOLED:
            figures.append(
                Figure(
                    f"D+{m.horizon} pooled OOS IC x100 | t (overlap-adjusted) | BA x100 | Sharpe",
                    100 * (m.ic or float("nan")),
                    "",
                    f"t {m.ic_t or 0:.1f} | BA {100 * (m.balanced_accuracy or 0):.1f} | SR {m.sharpe or 0:.2f}",
                )
            )
    audit = report.leak_audit
    figures.append(
        Figure(
            "leak audit: max audited balanced accuracy x100", 100 * (audit.max_balanced_accuracy or 0), "", "flag > 60"
        )
    )
    best = max((m for m in report.metrics if m.balanced_accuracy is not None), key=lambda m: m.balanced_accuracy or 0)
    figures.append(
        Figure(
            f"max balanced accuracy x100 of any group, audited or not (D+{best.horizon} {best.symbol})",
            100 * (best.balanced_accuracy or 0),
            "",
        )
    )

    # speed / quality trade-offs at the planted horizon
    five = base.for_horizon(5)
    ic, ba = _quality(results[5], features, labels)
    figures.append(
        Figure("D+5 pooled half-yearly (default): OOS IC x100 | BA x100", 100 * ic, "", f"BA {100 * ba:.1f}")
    )
    for months, label in ((3, "quarterly"), (12, "yearly")):
        _variant(figures, f"pooled {label}", features, labels, five.model_copy(update={"retrain_months": months}))
    _variant(figures, "per-symbol half-yearly", features, labels, five.model_copy(update={"mode": "per_symbol"}))
    _variant(
        figures,
        "pooled, num_threads=2",
        features,
        labels,
        five.model_copy(update={"lgbm": LGBMConfig(num_threads=2)}),
    )
    _variant(
        figures,
        "pooled, flat band k=0.43 (thirds)",
        features,
        labels,
        five.model_copy(update={"labels": LabelConfig(k=0.43)}),
    )

    # inference: one pooled model scoring many rows (the daily job scores ~12 rows; backfills score history)
    model = results[5].models[-1]
    rows = pd.concat([features] * (INFERENCE_ROWS // len(features) + 1), ignore_index=True).iloc[:INFERENCE_ROWS]
    model.predict_proba(rows.iloc[:1000])
    started = time.perf_counter()
    model.predict_proba(rows)
    seconds = since(started)
    figures.append(
        Figure(
            f"inference predict_proba ({INFERENCE_ROWS:,} rows)", INFERENCE_ROWS / seconds, "rows/s", "target >= 50,000"
        )
    )
    started = time.perf_counter()
    model.predict_frame(rows)
    seconds = since(started)
    figures.append(
        Figure(f"inference predict_frame with keys ({INFERENCE_ROWS:,} rows)", INFERENCE_ROWS / seconds, "rows/s")
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures.append(Figure("models benchmark process peak RSS", peak, "MB", "target <= 1536 MB"))
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure.line(), flush=True)
