"""Decisions that respect the base rate: a direction only where the calibrated edge over the class prior is large
enough, learned walk-forward; FLAT (no position) everywhere else.

- Class prior: per symbol and horizon, the shares of UP and DOWN labels among the labels known by the cutoff of
  the model that predicts the row (label_end <= cutoff): what always predicting the base rate would say.
- Edge: p_up - prior_up for UP, p_down - prior_down for DOWN; the side with the larger edge is the candidate.
  A model that says "UP 55%" for an instrument that rose on 55% of past days has no edge.
- Threshold: at each cutoff C, pooled over symbols, the smallest grid value whose past decisions (rows whose labels
  were known by C) earned the most after a round-trip cost per trade; when no threshold earned anything, or too
  few past rows exist, the threshold is 1.0 (never trade). Rows predicted by C's model use C's threshold, so the
  decision is as point in time as the model.
- Always-majority baseline: the side with the larger prior, per symbol, known at the same cutoff.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

NEVER = 1.0  # an edge in probability can never exceed 1: this threshold means FLAT on every row


class DecisionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    thresholds: tuple[float, ...] = Field(
        default=(0.0, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.10, 0.15),
        description="candidate edges over the class prior",
    )
    min_rows: int = Field(default=500, ge=10, description="past rows needed to learn a threshold")
    cost_bps: float = Field(default=5.0, ge=0, description="per unit of turnover; a trade pays it twice")


def class_priors(labs: pd.DataFrame, cutoffs: pd.Series | np.ndarray) -> pd.DataFrame:
    """Per symbol and cutoff: prior_up, prior_down and n from labels with label_end <= cutoff.

    `labs` needs symbol, label (-1/0/+1, null when unknown) and label_end (one horizon).
    """
    known = labs[labs["label"].notna()]
    rows = []
    for cutoff in sorted(pd.to_datetime(pd.Series(cutoffs)).dropna().unique()):
        past = known[pd.to_datetime(known["label_end"]) <= cutoff]
        label = past["label"].astype("float64")
        grouped = pd.DataFrame({"symbol": past["symbol"], "up": label == 1, "down": label == -1}).groupby("symbol")
        stats = grouped.agg(prior_up=("up", "mean"), prior_down=("down", "mean"), n=("up", "size")).reset_index()
        stats.insert(0, "cutoff", pd.Timestamp(cutoff))
        rows.append(stats)
    columns = ["cutoff", "symbol", "prior_up", "prior_down", "n"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)


def edges(frame: pd.DataFrame) -> pd.DataFrame:
    """side (+1 UP, -1 DOWN, 0 unknown) and edge (its calibrated probability minus its prior) per row."""
    up = frame["p_up"].astype("float64") - frame["prior_up"].astype("float64")
    down = frame["p_down"].astype("float64") - frame["prior_down"].astype("float64")
    side = np.where(up >= down, 1.0, -1.0)
    edge = np.where(side > 0, up, down)
    side = np.where(np.isfinite(edge), side, 0.0)
    return pd.DataFrame({"side": side, "edge": edge}, index=frame.index)


def _past_pnl(edge: np.ndarray, gain: np.ndarray, threshold: float, cost: float) -> float:
    traded = edge > threshold
    return float((gain[traded] - 2 * cost).sum())


def learn_thresholds(frame: pd.DataFrame, config: DecisionConfig | None = None) -> pd.DataFrame:
    """Per cutoff (one horizon): threshold, n past rows and the past net return it earned.

    `frame` needs cutoff, edge, side, fwd_ret and label_end. For cutoff C only rows with label_end <= C count.
    """
    config = config or DecisionConfig()
    cost = config.cost_bps * 1e-4
    known = frame[frame["fwd_ret"].notna() & np.isfinite(frame["edge"])]
    out = []
    for cutoff in sorted(frame["cutoff"].dropna().unique()):
        past = known[known["label_end"] <= cutoff]
        threshold, best = NEVER, 0.0
        if len(past) >= config.min_rows:
            edge = past["edge"].to_numpy(float)
            gain = (past["side"] * past["fwd_ret"]).to_numpy(float)
            for candidate in sorted(config.thresholds):
                pnl = _past_pnl(edge, gain, candidate, cost)
                if pnl > best:
                    threshold, best = candidate, pnl
        out.append({"cutoff": cutoff, "threshold": threshold, "n": len(past), "past_net_return": best})
    return pd.DataFrame(out, columns=["cutoff", "threshold", "n", "past_net_return"])


def decide(frame: pd.DataFrame, thresholds: pd.DataFrame) -> pd.DataFrame:
    """direction (UP/DOWN/FLAT), sign (+1/-1/0) and the threshold applied, per row of one horizon."""
    applied = frame["cutoff"].map(thresholds.set_index("cutoff")["threshold"]).astype("float64").fillna(NEVER)
    take = np.isfinite(frame["edge"]) & (frame["edge"] > applied) & (frame["side"] != 0)
    sign = np.where(take, frame["side"], 0.0)
    direction = np.where(sign > 0, "UP", np.where(sign < 0, "DOWN", "FLAT"))
    return pd.DataFrame({"direction": direction, "sign": sign, "edge_threshold": applied}, index=frame.index)


__all__ = ["NEVER", "DecisionConfig", "class_priors", "decide", "edges", "learn_thresholds"]
