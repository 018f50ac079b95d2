"""Decisions that respect the base rate: a direction only where the calibrated edge over the instrument's class prior
is large enough, learned walk-forward; FLAT (no position) everywhere else.

- Class priors: per symbol and horizon, the shares of UP and DOWN labels among the labels known by the cutoff of
  the model that predicts the row (label_end <= cutoff): what always predicting the base rate would say. The
  model's own prior is the same share over the population it was calibrated on: every instrument for the pooled
  model (the default), the instrument itself for per-symbol models.
- The instrument's probabilities: a pooled model's calibrated probabilities are relative to the pooled base rate,
  not to the instrument's. They are moved to the instrument's prior by the prior-shift correction of Saerens,
  Latinne and Decaestecker (2002), p_k x prior_k / model_prior_k, renormalized over the three classes. Without it
  the edge compared a pooled probability with an instrument's prior and measured the instrument's base rate
  instead of the model (on the default lake that side had no out-of-sample edge: D+5 IC -0.05 against the model's
  +0.02; with it +0.02).
- Edge: p_up - prior_up for UP, p_down - prior_down for DOWN, on the instrument's probabilities; the side with the
  larger edge is the candidate. A model that says "UP 55%" for an instrument that rose on 55% of past days has no
  edge. A candidate that is not also the likelier move (p_up > p_down for UP) is not traded: "DOWN 34% where DOWN's
  base rate is 33%, UP 44%" is a bet against the expected move of an instrument that usually rises (on the default
  lake such rows lost money on SPX and NDX, whose drift the signal then sold).
- Threshold: at each cutoff C, pooled over symbols, the smallest grid value whose past decisions (rows whose labels
  were known by C) earned the most after costs, scored as the evaluation trades them: each row is one of h
  overlapping tranches (1/h of a vol-targeted position held h days), and a tranche pays `cost_bps` per unit it
  changes from the tranche it replaces (the same symbol's decision h rows earlier). A position kept from one
  decision to the next pays nothing again; charging a round trip per row, as before, made every threshold the model
  could reach look unprofitable. When no threshold earned anything, or too few past rows exist, the threshold is
  1.0 (never trade). Rows predicted by C's model use C's threshold, so the decision is as point in time as the
  model.
- Always-majority baseline: the side with the larger prior, per symbol, known at the same cutoff.
"""

from __future__ import annotations

from typing import Literal

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
    cost_bps: float = Field(default=5.0, ge=0, description="per unit of turnover, as in the evaluation")
    calibrated_on: Literal["pooled", "per_symbol"] = Field(
        default="pooled", description="the population the model's probabilities are calibrated on (walk-forward mode)"
    )


def class_priors(
    labs: pd.DataFrame, cutoffs: pd.Series | np.ndarray, calibrated_on: str = "per_symbol"
) -> pd.DataFrame:
    """Per symbol and cutoff: prior_up, prior_down and n from labels with label_end <= cutoff.

    `labs` needs symbol, label (-1/0/+1, null when unknown) and label_end (one horizon). With
    `calibrated_on="pooled"` the shares are over every symbol's labels (the same value on each symbol's row).
    """
    known = labs[labs["label"].notna()]
    rows = []
    for cutoff in sorted(pd.to_datetime(pd.Series(cutoffs)).dropna().unique()):
        past = known[pd.to_datetime(known["label_end"]) <= cutoff]
        label = past["label"].astype("float64")
        flags = pd.DataFrame({"symbol": past["symbol"], "up": label == 1, "down": label == -1})
        stats = flags.groupby("symbol").agg(prior_up=("up", "mean"), prior_down=("down", "mean"), n=("up", "size"))
        if calibrated_on == "pooled" and len(flags):
            stats = stats.assign(prior_up=flags["up"].mean(), prior_down=flags["down"].mean(), n=len(flags))
        stats = stats.reset_index()
        stats.insert(0, "cutoff", pd.Timestamp(cutoff))
        rows.append(stats)
    columns = ["cutoff", "symbol", "prior_up", "prior_down", "n"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)


def shift_to_prior(frame: pd.DataFrame) -> pd.DataFrame:
    """p_down, p_flat, p_up moved from the model's prior (model_prior_*) to the instrument's (prior_*).

    Saerens et al. (2002): under a change of class priors the calibrated posteriors scale by new prior / old prior
    per class and renormalize. Equal priors leave the probabilities unchanged.
    """
    weights = {}
    for side in ("up", "down", "flat"):
        if side == "flat":
            new = 1.0 - frame["prior_up"] - frame["prior_down"]
            old = 1.0 - frame["model_prior_up"] - frame["model_prior_down"]
        else:
            new, old = frame[f"prior_{side}"], frame[f"model_prior_{side}"]
        ratio = (new.astype("float64") / old.astype("float64").where(old > 0)).fillna(1.0)
        weights[side] = frame[f"p_{side}"].astype("float64") * ratio
    total = weights["up"] + weights["down"] + weights["flat"]
    return pd.DataFrame({f"p_{k}": (v / total.where(total > 0)) for k, v in weights.items()}, index=frame.index)[
        ["p_down", "p_flat", "p_up"]
    ]


def edges(frame: pd.DataFrame) -> pd.DataFrame:
    """side (+1 UP, -1 DOWN, 0 unknown) and edge (its probability minus its prior) per row.

    With model_prior_up/model_prior_down columns the probabilities are first moved to the instrument's prior
    (`shift_to_prior`); without them they are taken as the instrument's already. A side that beats its prior but is
    still the less likely move (DOWN 34% against UP 44% where DOWN's base rate is 33%) has no edge to trade: its
    edge counts as at most 0, so no threshold lets it through.
    """
    probs = shift_to_prior(frame) if "model_prior_up" in frame else frame[["p_up", "p_down"]]
    up = probs["p_up"].astype("float64") - frame["prior_up"].astype("float64")
    down = probs["p_down"].astype("float64") - frame["prior_down"].astype("float64")
    side = np.where(up >= down, 1.0, -1.0)
    edge = np.where(side > 0, up, down)
    likelier = np.sign(probs["p_up"].astype("float64") - probs["p_down"].astype("float64")).to_numpy()
    edge = np.where(likelier == side, edge, np.minimum(edge, 0.0))  # against the likelier move: no edge to trade
    side = np.where(np.isfinite(edge), side, 0.0)
    return pd.DataFrame({"side": side, "edge": edge}, index=frame.index)


def _net_returns(sign: np.ndarray, previous: np.ndarray, gain: np.ndarray, weight: np.ndarray, cost: float):
    """Each row's tranche after costs (x h): weight x (sign x h-day return - cost x |sign - sign h rows earlier|)."""
    before = np.where(previous >= 0, sign[np.maximum(previous, 0)], 0.0)
    return weight * (sign * gain - cost * np.abs(sign - before))


def learn_thresholds(frame: pd.DataFrame, horizon: int, config: DecisionConfig | None = None) -> pd.DataFrame:
    """Per cutoff (one horizon): threshold, n past rows and the past net return (vol-weighted) it earned.

    `frame` needs symbol, trade_date, cutoff, edge, side, fwd_ret and label_end, and may carry `weight` (the
    vol-targeted size of a unit position, 1 without it). For cutoff C only rows with label_end <= C count.
    """
    config = config or DecisionConfig()
    cost = config.cost_bps * 1e-4
    rows = frame.sort_values(["symbol", "trade_date"], kind="stable").reset_index(drop=True)
    rank = rows.groupby("symbol", sort=False).cumcount().to_numpy()
    previous = np.where(rank >= horizon, np.arange(len(rows)) - horizon, -1)  # the tranche this row replaces
    edge = rows["edge"].to_numpy(float)
    side = rows["side"].to_numpy(float)
    gain = np.nan_to_num(rows["fwd_ret"].to_numpy(float))
    weight = np.nan_to_num(rows["weight"].to_numpy(float)) if "weight" in rows else np.ones(len(rows))
    label_end = pd.to_datetime(rows["label_end"]).to_numpy()
    known = rows["fwd_ret"].notna().to_numpy() & np.isfinite(edge)
    candidates = sorted(config.thresholds)
    nets = {t: _net_returns(np.where(edge > t, side, 0.0), previous, gain, weight, cost) for t in candidates}
    out = []
    for cutoff in sorted(rows["cutoff"].dropna().unique()):
        past = known & (label_end <= np.datetime64(pd.Timestamp(cutoff)))
        threshold, best = NEVER, 0.0
        if past.sum() >= config.min_rows:
            for candidate in candidates:
                pnl = float(nets[candidate][past].sum())
                if pnl > best:
                    threshold, best = candidate, pnl
        out.append({"cutoff": cutoff, "threshold": threshold, "n": int(past.sum()), "past_net_return": best})
    return pd.DataFrame(out, columns=["cutoff", "threshold", "n", "past_net_return"])


def decide(frame: pd.DataFrame, thresholds: pd.DataFrame) -> pd.DataFrame:
    """direction (UP/DOWN/FLAT), sign (+1/-1/0) and the threshold applied, per row of one horizon."""
    applied = frame["cutoff"].map(thresholds.set_index("cutoff")["threshold"]).astype("float64").fillna(NEVER)
    take = np.isfinite(frame["edge"]) & (frame["edge"] > applied) & (frame["side"] != 0)
    sign = np.where(take, frame["side"], 0.0)
    direction = np.where(sign > 0, "UP", np.where(sign < 0, "DOWN", "FLAT"))
    return pd.DataFrame({"direction": direction, "sign": sign, "edge_threshold": applied}, index=frame.index)


__all__ = ["NEVER", "DecisionConfig", "class_priors", "decide", "edges", "learn_thresholds", "shift_to_prior"]
