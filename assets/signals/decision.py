"""Decisions that respect the base rate: a direction only where the calibrated edge over the instrument's class prior
is large enough, learned walk-forward; FLAT (no position) everywhere else.

- Class priors: per symbol and horizon, the shares of UP and DOWN labels among the labels known by the cutoff of
  the model that predicts the row (label_end <= cutoff): what always predicting the base rate would say. The
  instrument's raw share is noisy (h-day labels overlap, so 2,000 labels are worth far fewer independent moves,
  and drift changes with the regime), so it is shrunk toward the pooled share of every instrument at that horizon
  with a pseudo-count k (empirical Bayes with a beta prior centred on the pool): prior = (n_up + k x pooled_up) /
  (n + k). k = 0 is the instrument's raw rate, a large k the pooled rate. k is learned walk-forward with the
  threshold (below). The model's own prior is the share over the population it was calibrated on: every
  instrument for the pooled model (the default), the instrument itself for per-symbol models.
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
- Threshold and pseudo-count: at each cutoff C, pooled over symbols, the pair (k, threshold) from the grids whose
  past decisions (rows whose labels were known by C, each with the priors known at its own cutoff) earned the most
  after costs (ties: the earlier k of the grid, the smaller threshold), scored as the evaluation trades them: each
  row is one of h overlapping tranches (1/h of a vol-targeted position held h days), and a tranche pays
  `cost_bps` per unit it changes from the tranche it replaces (the same symbol's decision h rows earlier). A
  position kept from one decision to the next pays nothing again; charging a round trip per row, as before, made
  every threshold the model could reach look unprofitable. When no pair earned anything, or too few past rows
  exist, the threshold is 1.0 (never trade). Rows predicted by C's model use C's k and threshold, so the decision
  is as point in time as the model. The grid of k is heavy on purpose: an instrument has 750 to 2,500 labels at a
  cutoff, but h-day labels overlap and drift changes with the regime, so its own rate deserves at most about a
  third of the weight (k = 4,000). Measured on two simulated worlds (`NEXUS_BENCH_SEEDS=7,11 python -m
  tests.bench.bench_scorecard`, README "Models and signals"), D+5 Sharpe after costs on the oracle's instruments,
  seed 7 / seed 11: raw instrument rate (k = 0) +0.84 / -0.16; k learned from (0, 250, 1000, 4000, 1e6) +0.86 /
  +0.29; pooled rate only (1e6) +0.83 / +0.38; k learned from (4000, 16000, 1e6), shipped, +0.89 / +0.38.
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
    pseudo_counts: tuple[float, ...] = Field(
        default=(4000.0, 16000.0, 1e6),
        description="candidate pseudo-counts shrinking the instrument's class rates toward the pooled rates "
        "(0 would be the instrument's raw rate; 1e6 is in effect the pooled rate)",
    )
    min_rows: int = Field(default=500, ge=10, description="past rows needed to learn a threshold")
    cost_bps: float = Field(default=5.0, ge=0, description="per unit of turnover, as in the evaluation")
    calibrated_on: Literal["pooled", "per_symbol"] = Field(
        default="pooled", description="the population the model's probabilities are calibrated on (walk-forward mode)"
    )


def class_counts(labs: pd.DataFrame, cutoffs: pd.Series | np.ndarray) -> pd.DataFrame:
    """Per cutoff and symbol: n, n_up, n_down of the symbol's labels with label_end <= cutoff, and pool_n,
    pool_up, pool_down of every symbol's (one horizon).

    `labs` needs symbol, label (-1/0/+1, null when unknown) and label_end.
    """
    known = labs[labs["label"].notna()]
    rows = []
    for cutoff in sorted(pd.to_datetime(pd.Series(cutoffs)).dropna().unique()):
        past = known[pd.to_datetime(known["label_end"]) <= cutoff]
        label = past["label"].astype("float64")
        flags = pd.DataFrame({"symbol": past["symbol"], "up": label == 1, "down": label == -1})
        stats = flags.groupby("symbol").agg(n_up=("up", "sum"), n_down=("down", "sum"), n=("up", "size"))
        stats = stats.assign(pool_n=len(flags), pool_up=int(flags["up"].sum()), pool_down=int(flags["down"].sum()))
        stats = stats.reset_index()
        stats.insert(0, "cutoff", pd.Timestamp(cutoff))
        rows.append(stats)
    columns = ["cutoff", "symbol", "n_up", "n_down", "n", "pool_n", "pool_up", "pool_down"]
    return pd.concat(rows, ignore_index=True)[columns] if rows else pd.DataFrame(columns=columns)


def shrunk_priors(counts: pd.DataFrame, pseudo_count: float) -> pd.DataFrame:
    """cutoff, symbol, prior_up, prior_down, n: (n_side + k x pooled share) / (n + k) from `class_counts`.

    k = 0 is the instrument's own share; as k grows the prior tends to the pooled share of every instrument.
    """
    k = float(pseudo_count)
    pool_n = counts["pool_n"].astype("float64").where(counts["pool_n"] > 0)
    out = counts[["cutoff", "symbol"]].copy()
    for side in ("up", "down"):
        pooled = counts[f"pool_{side}"].astype("float64") / pool_n
        out[f"prior_{side}"] = (counts[f"n_{side}"].astype("float64") + k * pooled) / (
            counts["n"].astype("float64") + k
        )
    out["n"] = counts["n"]
    return out


def pooled_priors(counts: pd.DataFrame) -> pd.DataFrame:
    """cutoff, symbol, prior_up, prior_down, n: the pooled shares of every symbol, on each symbol's row."""
    out = counts[["cutoff", "symbol"]].copy()
    for side in ("up", "down"):
        out[f"prior_{side}"] = counts[f"pool_{side}"] / counts["pool_n"].where(counts["pool_n"] > 0)
    out["n"] = counts["pool_n"]
    return out


def class_priors(
    labs: pd.DataFrame, cutoffs: pd.Series | np.ndarray, calibrated_on: str = "per_symbol", pseudo_count: float = 0.0
) -> pd.DataFrame:
    """Per symbol and cutoff: prior_up, prior_down and n from labels with label_end <= cutoff.

    `labs` needs symbol, label (-1/0/+1, null when unknown) and label_end (one horizon). With
    `calibrated_on="pooled"` the shares are over every symbol's labels (the same value on each symbol's row);
    otherwise the symbol's shares shrunk toward the pooled ones by `pseudo_count` (0: the symbol's own).
    """
    counts = class_counts(labs, cutoffs)
    return pooled_priors(counts) if calibrated_on == "pooled" else shrunk_priors(counts, pseudo_count)


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


PRIOR_COLUMNS = ("prior_up", "prior_down", "p_down", "p_flat", "p_up", "side", "edge")


def decision_variants(scores: pd.DataFrame, counts: pd.DataFrame, config: DecisionConfig) -> dict[float, pd.DataFrame]:
    """Per candidate pseudo-count k: the instrument's shrunk priors, the probabilities moved to them, side and edge.

    `scores` needs cutoff, symbol, p_down, p_flat, p_up (the model's calibrated probabilities); `counts` is
    `class_counts` of the horizon's labels at those cutoffs. Each frame has PRIOR_COLUMNS on `scores`' index.
    """
    keys = scores[["cutoff", "symbol"]]
    model = pooled_priors(counts) if config.calibrated_on == "pooled" else shrunk_priors(counts, 0.0)
    model = keys.merge(model, on=["cutoff", "symbol"], how="left", validate="many_to_one")
    out = {}
    for k in config.pseudo_counts:
        priors = keys.merge(shrunk_priors(counts, k), on=["cutoff", "symbol"], how="left", validate="many_to_one")
        frame = pd.DataFrame(
            {
                **{c: scores[c].to_numpy(float) for c in ("p_down", "p_flat", "p_up")},
                "prior_up": priors["prior_up"].to_numpy(float),
                "prior_down": priors["prior_down"].to_numpy(float),
                "model_prior_up": model["prior_up"].to_numpy(float),
                "model_prior_down": model["prior_down"].to_numpy(float),
            },
            index=scores.index,
        )
        variant = pd.concat([frame[["prior_up", "prior_down"]], shift_to_prior(frame), edges(frame)], axis=1)
        out[float(k)] = variant[list(PRIOR_COLUMNS)]
    return out


def learn_thresholds(
    frame: pd.DataFrame,
    horizon: int,
    config: DecisionConfig | None = None,
    variants: dict[float, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Per cutoff (one horizon): pseudo_count, threshold, n past rows and the past net return (vol-weighted).

    `frame` needs symbol, trade_date, cutoff, fwd_ret and label_end, and may carry `weight` (the vol-targeted size
    of a unit position, 1 without it). The edges and sides come from `variants` (one frame per pseudo-count, see
    `decision_variants`) or, without it, from frame's own edge and side (pseudo_count NaN). For cutoff C only rows
    with label_end <= C count.
    """
    config = config or DecisionConfig()
    variants = variants if variants is not None else {float("nan"): frame[["edge", "side"]]}
    cost = config.cost_bps * 1e-4
    order = frame.sort_values(["symbol", "trade_date"], kind="stable").index
    rows = frame.loc[order].reset_index(drop=True)
    rank = rows.groupby("symbol", sort=False).cumcount().to_numpy()
    previous = np.where(rank >= horizon, np.arange(len(rows)) - horizon, -1)  # the tranche this row replaces
    gain = np.nan_to_num(rows["fwd_ret"].to_numpy(float))
    weight = np.nan_to_num(rows["weight"].to_numpy(float)) if "weight" in rows else np.ones(len(rows))
    label_end = pd.to_datetime(rows["label_end"]).to_numpy()
    candidates = sorted(config.thresholds)
    nets, known = {}, {}
    for k, variant in variants.items():
        edge = variant.loc[order, "edge"].to_numpy(float)
        side = variant.loc[order, "side"].to_numpy(float)
        known[k] = rows["fwd_ret"].notna().to_numpy() & np.isfinite(edge)
        for t in candidates:
            nets[(k, t)] = _net_returns(np.where(edge > t, side, 0.0), previous, gain, weight, cost)
    out = []
    first = next(iter(variants))
    for cutoff in sorted(rows["cutoff"].dropna().unique()):
        before = label_end <= np.datetime64(pd.Timestamp(cutoff))
        choice, best, n = (first, NEVER), 0.0, int((known[first] & before).sum())
        if n >= config.min_rows:
            for k in variants:
                past = known[k] & before
                for t in candidates:
                    pnl = float(nets[(k, t)][past].sum())
                    if pnl > best:
                        choice, best = (k, t), pnl
        out.append(
            {"cutoff": cutoff, "pseudo_count": choice[0], "threshold": choice[1], "n": n, "past_net_return": best}
        )
    return pd.DataFrame(out, columns=["cutoff", "pseudo_count", "threshold", "n", "past_net_return"])


def chosen_variant(frame: pd.DataFrame, variants: dict[float, pd.DataFrame], learned: pd.DataFrame) -> pd.DataFrame:
    """PRIOR_COLUMNS and pseudo_count per row from the variant learned at the row's cutoff (the grid's first k
    where none was learned: its threshold is NEVER)."""
    first = next(iter(variants))
    chosen = frame["cutoff"].map(learned.set_index("cutoff")["pseudo_count"]).astype("float64").fillna(first)
    out = pd.DataFrame(index=frame.index, columns=list(PRIOR_COLUMNS), dtype="float64")
    for k, variant in variants.items():
        rows = chosen.to_numpy() == k
        out.loc[rows] = variant.loc[rows, list(PRIOR_COLUMNS)].to_numpy(float)
    return out.assign(pseudo_count=chosen)


def decide(frame: pd.DataFrame, thresholds: pd.DataFrame) -> pd.DataFrame:
    """direction (UP/DOWN/FLAT), sign (+1/-1/0) and the threshold applied, per row of one horizon."""
    applied = frame["cutoff"].map(thresholds.set_index("cutoff")["threshold"]).astype("float64").fillna(NEVER)
    take = np.isfinite(frame["edge"]) & (frame["edge"] > applied) & (frame["side"] != 0)
    sign = np.where(take, frame["side"], 0.0)
    direction = np.where(sign > 0, "UP", np.where(sign < 0, "DOWN", "FLAT"))
    return pd.DataFrame({"direction": direction, "sign": sign, "edge_threshold": applied}, index=frame.index)


__all__ = [
    "NEVER",
    "PRIOR_COLUMNS",
    "DecisionConfig",
    "chosen_variant",
    "class_counts",
    "class_priors",
    "decide",
    "decision_variants",
    "edges",
    "learn_thresholds",
    "pooled_priors",
    "shift_to_prior",
    "shrunk_priors",
]
