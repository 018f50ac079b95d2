"""Combine the model with the rule signals, with weights learned from the past only; then across horizons.

Weights: at each walk-forward cutoff C, every component's information coefficient (Spearman correlation of its
score with the horizon's forward return) is measured on the rows whose labels were known by C, and the weights
are the positive ICs, normalized. They apply to the rows the cutoff's model predicts, exactly like the model
itself, so the ensemble is as point in time as the walk-forward. A component that did not help in the past gets
weight zero; when none did, the model alone is used.

Confluence: the horizons' ensemble scores averaged with the default weights 0.8, 0.85, 0.9, 1.0, 1.05, 1.0 for
D+1, D+2, D+3, D+5, D+7, D+10 (issue 5): one number per instrument and day saying how much the horizons agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from assets.signals.contract import CONFLUENCE_WEIGHTS

RULE_COLUMNS: tuple[str, ...] = (
    "rule_cot_extreme",
    "rule_sentiment",
    "rule_vix_term_structure",
    "rule_mvrv_zone",
    "rule_eia_surprise",
    "rule_tsmom",
    "rule_factor_momentum",
)
COMPONENTS: tuple[str, ...] = ("model", *RULE_COLUMNS)


class EnsembleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_rows: int = Field(default=200, ge=10, description="rows needed to trust a component's IC")
    model_floor: float = Field(default=0.0, ge=0, description="minimum weight share kept for the model")
    confluence_weights: dict[int, float] = Field(default_factory=lambda: dict(CONFLUENCE_WEIGHTS))


def component_scores(predictions: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Predictions (one horizon) joined with the day's rule scores; missing rule views count as 0."""
    scores = predictions.merge(rules, on=["symbol", "trade_date"], how="left", validate="many_to_one")
    scores["model"] = scores["p_up"] - scores["p_down"]
    for column in RULE_COLUMNS:
        scores[column] = pd.to_numeric(scores.get(column), errors="coerce").fillna(0.0).clip(-1, 1)
    return scores


def _ic(x: np.ndarray, y: np.ndarray, y_ranks: np.ndarray | None = None) -> float:
    """Spearman correlation of x and y, 0 when undefined (fewer than 3 rows, a constant, a NaN).

    Computed as `scipy.stats.spearmanr(x, y).statistic` computes it (ranks as columns, `np.corrcoef`), so the same
    to the bit, without its per-call checks; `y_ranks`, `rankdata(y)`, lets the caller rank y once for the many
    components scored against it (learn_weights ranks each cutoff's returns once, not once per component)."""
    if len(x) < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return 0.0
    if np.isnan(x).any() or np.isnan(y).any():  # spearmanr propagates a NaN
        return 0.0
    from scipy.stats import rankdata  # here, not with the definitions

    ranks = np.column_stack((rankdata(x), rankdata(y) if y_ranks is None else y_ranks))
    value = np.corrcoef(ranks, rowvar=False)[1, 0]
    return 0.0 if not np.isfinite(value) else float(value)


def learn_weights(scores: pd.DataFrame, config: EnsembleConfig | None = None) -> pd.DataFrame:
    """Weights per cutoff for one horizon: columns cutoff, component, ic, n, weight.

    `scores` needs cutoff, trade_date, fwd_ret, label_end and the component columns. For cutoff C the IC uses
    rows with label_end <= C (labels known by C), whichever model predicted them.
    """
    config = config or EnsembleConfig()
    rows = []
    known = scores[scores["fwd_ret"].notna()]
    for cutoff in sorted(scores["cutoff"].dropna().unique()):
        past = known[known["label_end"] <= cutoff]
        if len(past) < config.min_rows:
            ics = dict.fromkeys(COMPONENTS, 0.0)
        else:
            from scipy.stats import rankdata  # here, not with the definitions

            y = past["fwd_ret"].to_numpy(float)
            y_ranks = rankdata(y) if not np.isnan(y).any() else None
            ics = {c: _ic(past[c].to_numpy(float), y, y_ranks) for c in COMPONENTS}
        positive = {c: max(v, 0.0) for c, v in ics.items()}
        total = sum(positive.values())
        if total <= 0:
            weights = {c: (1.0 if c == "model" else 0.0) for c in COMPONENTS}
        else:
            weights = {c: v / total for c, v in positive.items()}
            if config.model_floor and weights["model"] < config.model_floor:
                scale = (1 - config.model_floor) / max(1e-12, 1 - weights["model"])
                weights = {c: (config.model_floor if c == "model" else w * scale) for c, w in weights.items()}
        rows += [
            {"cutoff": cutoff, "component": c, "ic": ics[c], "n": len(past), "weight": weights[c]} for c in COMPONENTS
        ]
    return pd.DataFrame(rows, columns=["cutoff", "component", "ic", "n", "weight"])


def ensemble_scores(scores: pd.DataFrame, weights: pd.DataFrame) -> pd.Series:
    """Each row's ensemble score in [-1, 1] with the weights of the cutoff that predicted it."""
    wide = weights.pivot(index="cutoff", columns="component", values="weight")
    aligned = wide.reindex(scores["cutoff"]).reset_index(drop=True)
    values = scores[list(COMPONENTS)].reset_index(drop=True)
    combined = (aligned[list(COMPONENTS)].to_numpy(float) * values.to_numpy(float)).sum(axis=1)
    return pd.Series(np.clip(combined, -1.0, 1.0), index=scores.index)


def confluence(frame: pd.DataFrame, config: EnsembleConfig | None = None) -> pd.Series:
    """Per row: the weighted mean of the same instrument-day's ensemble scores across horizons."""
    config = config or EnsembleConfig()
    weight = frame["horizon"].map(config.confluence_weights).astype(float)
    weighted = (frame["ensemble_score"] * weight).groupby([frame["symbol"], frame["trade_date"]]).transform("sum")
    total = weight.groupby([frame["symbol"], frame["trade_date"]]).transform("sum")
    return (weighted / total).clip(-1.0, 1.0)
