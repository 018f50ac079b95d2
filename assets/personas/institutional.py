"""Institutional: factor (asset-class) momentum with allocation weights, the cross-asset momentum table,
correlation-breakdown alerts and sentiment divergence.

Momentum is read from the features known at the day (12-month log return, distance to the 200-day mean); the
relative-strength rank orders instruments by that return. Correlations use daily returns of the price history on
the days both instruments traded; a pair that usually moves together (or apart) and no longer does is an alert.
Sentiment comes from the signals' own rule (price momentum against the speculators' positioning change).
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from assets.personas.common import RowsBy, RulePath, feature_refs, guard_reason, make_item, num, pct, r6, signed_pct
from assets.personas.config import CorrelationConfig, InstitutionalConfig
from assets.personas.inputs import PersonaInputs
from assets.personas.models import (
    CorrelationAlert,
    FactorMomentum,
    InstitutionalOutput,
    MomentumRow,
    SentimentDivergence,
)
from assets.personas.tables import output_rows

PERSONA = "institutional"

IMPLICATIONS = {
    "DISTRIBUTION": "price rising while speculators cut: the rally is being sold into (bearish divergence)",
    "ACCUMULATION": "price falling while speculators add: the dip is being bought (bullish divergence)",
    "CONFIRMATION": "price and positioning move together: the trend has the crowd behind it",
}


def _ma200_state(history: pd.DataFrame, lookback: int) -> str:
    """ABOVE/BELOW the 200-day mean, or CROSSED_* when the sign changed within the last `lookback` rows."""
    dist = history["dist_ma200"].dropna()
    if dist.empty:
        return "UNKNOWN"
    now = dist.iloc[-1] > 0
    recent = dist.iloc[-(lookback + 1) :]
    crossed = (recent > 0).nunique() > 1
    if crossed:
        return "CROSSED_ABOVE" if now else "CROSSED_BELOW"
    return "ABOVE" if now else "BELOW"


def _momentum_rows(
    day: date, inputs: PersonaInputs, feats: pd.DataFrame, config: InstitutionalConfig
) -> list[MomentumRow]:
    ts = pd.Timestamp(day)
    history = inputs.features[
        (inputs.features["trade_date"] <= ts) & (inputs.features["trade_date"] > ts - pd.Timedelta(days=45))
    ].sort_values(["symbol", "trade_date"], kind="stable")
    ret = feats.set_index("symbol")["ret_250d"].astype("float64")
    ranks = ret.rank(ascending=False, method="first")
    n_ranked = int(ret.notna().sum())
    rows = []
    history_of = RowsBy(history, "symbol")
    for _, feat in feats.iterrows():
        symbol = str(feat["symbol"])
        r250 = num(feat["ret_250d"])
        ret12 = math.expm1(r250) if r250 is not None else None
        dist = num(feat["dist_ma200"])
        state = _ma200_state(history_of(symbol), config.crossover_lookback)
        rank = int(ranks[symbol]) if r250 is not None else None
        pctile = r6(1 - (rank - 1) / max(1, n_ranked - 1)) if rank is not None and n_ranked > 1 else None
        above = state in ("ABOVE", "CROSSED_ABOVE")
        below = state in ("BELOW", "CROSSED_BELOW")
        if ret12 is not None and ret12 > 0 and above:
            trend = "UPTREND"
        elif ret12 is not None and ret12 < 0 and below:
            trend = "DOWNTREND"
        else:
            trend = "MIXED"
        rules = (
            RulePath()
            .add("institutional.momentum_12m", "12-month return > 0", ret12, "up" if (ret12 or 0) > 0 else "down/none")
            .add(
                "institutional.crossover_lookback",
                f"dist_ma200 sign change within {config.crossover_lookback} rows",
                dist,
                state,
            )
            .add("institutional.trend", "both agree -> UPTREND/DOWNTREND, else MIXED", f"{ret12}, {state}", trend)
        )
        text = (
            f"{inputs.name(symbol)}: 12-month {signed_pct(ret12)}, {signed_pct(dist)} from its 200-day average "
            f"({state.lower().replace('_', ' ')}), relative-strength rank {rank if rank else 'n/a'} of {n_ranked}: "
            f"{trend.lower()}"
        )
        rows.append(
            make_item(
                MomentumRow,
                persona=PERSONA,
                as_of=day,
                subject=symbol,
                symbol=symbol,
                action=trend,
                text=text,
                rules=rules,
                data_refs=feature_refs([symbol], feats),
                asset_class=str(feat["asset_class"]),
                return_12m=r6(ret12),
                dist_ma200=r6(dist),
                ma200_state=state,
                rs_rank=rank,
                rs_percentile=pctile,
            )
        )
    return sorted(rows, key=lambda r: (r.rs_rank or 10**6, r.subject))


def _factors(
    day: date, feats: pd.DataFrame, signals: pd.DataFrame, config: InstitutionalConfig
) -> list[FactorMomentum]:
    usable = feats[~feats["asset_class"].isin(config.excluded_asset_classes)]
    usable = usable[usable["asset_class"].isin(config.strategic_weights)]
    by_class = (
        usable.assign(ret12=np.expm1(usable["ret_250d"].astype("float64")))
        .dropna(subset=["ret12"])
        .groupby("asset_class", sort=True)
    )
    stats = [(cls, float(g["ret12"].mean()), sorted(map(str, g["symbol"]))) for cls, g in by_class]
    if not stats:
        return []
    stats.sort(key=lambda s: (-s[1], s[0]))
    leader, laggard = stats[0][0], stats[-1][0]
    tilt = config.tilt if len(stats) > 1 else 0.0
    # no overweight in a class whose instruments the strategy's drawdown guard cuts: the best-ranked class it does
    # not cut (other than the laggard) takes the overweight; with none, the laggard's weight goes to cash
    cut = {str(sym): str(st) for sym, st in zip(signals["symbol"], signals["drawdown_state"], strict=True)}
    cut = {sym: st for sym, st in cut.items() if st != "FULL_SIZE"}
    regime_of = {str(sym): str(r) for sym, r in zip(signals["symbol"], signals["regime"], strict=True)}
    guarded = {cls: sorted(set(members) & set(cut)) for cls, _, members in stats}
    over = next((cls for cls, _, _ in stats if cls != laggard and not guarded[cls]), None) if tilt else None
    out = []
    for rank, (cls, mom, members) in enumerate(stats, start=1):
        role = "LEADER" if cls == leader else "LAGGARD" if cls == laggard and len(stats) > 1 else "MIDDLE"
        strategic = config.strategic_weights[cls]
        delta = tilt if cls == over else -min(tilt, strategic) if role == "LAGGARD" else 0.0
        target = strategic + delta
        action = "OVERWEIGHT" if delta > 0 else "UNDERWEIGHT" if delta < 0 else "HOLD"
        used = signals[signals["symbol"].isin(members)]
        rule_fm = num(used["rule_factor_momentum"].mean()) if not used.empty else None
        rules = (
            RulePath()
            .add(
                "institutional.factor_rank", "classes ranked by mean 12-month return", mom, f"rank {rank}/{len(stats)}"
            )
            .add("institutional.tilt", f"leader +{config.tilt}, laggard -{config.tilt}", role, f"target {target:.3f}")
        )
        note = ""
        if role == "LEADER" and guarded[cls]:
            names = "; ".join(guard_reason(sym, cut[sym], regime_of.get(sym)) for sym in guarded[cls])
            rules.add("institutional.guard", "drawdown guard cuts a member: no overweight", guarded[cls], "HOLD")
            note = f"; no overweight while the strategy's drawdown guard cuts {names}" + (
                "" if over else ", the laggard's weight goes to cash"
            )
        elif cls == over and role != "LEADER":
            rules.add("institutional.guard", "the leader is cut by the drawdown guard", leader, "OVERWEIGHT here")
            cut_leader = "; ".join(guard_reason(sym, cut[sym], regime_of.get(sym)) for sym in guarded[leader])
            note = f"; overweight in place of the leader, whose members the drawdown guard cuts: {cut_leader}"
        if rule_fm is not None:
            rules.add(
                "signals.rule_factor_momentum",
                "mean factor rule of the class (corroboration)",
                rule_fm,
                "agrees" if (rule_fm > 0) == (mom > 0) else "disagrees",
            )
        text = (
            f"{cls} momentum {role.lower()} (rank {rank} of {len(stats)}, mean 12-month {signed_pct(mom)}): "
            f"{action.lower()} {pct(strategic, 1)} -> {pct(target, 1)}{note}"
        )
        out.append(
            make_item(
                FactorMomentum,
                persona=PERSONA,
                as_of=day,
                subject=cls,
                action=action,
                text=text,
                rules=rules,
                signals=used,
                data_refs=feature_refs(members, feats),
                asset_class=cls,
                role=role,
                rank=rank,
                momentum_12m=r6(mom),
                members=members,
                rule_factor_momentum=r6(rule_fm),
                strategic_weight=r6(strategic),
                target_weight=r6(target),
            )
        )
    return out


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation exactly as pandas' Series.corr computes it (nan for fewer than two rows)."""
    if len(a) < 2:
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.corrcoef(a, b)[0, 1])


def _block_corr(values: np.ndarray, rows: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Pearson correlation of every left column with every right column over `rows` (one matrix product)."""
    x = values[np.ix_(rows, left)]
    y = values[np.ix_(rows, right)]
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (x.T @ y) / np.outer(np.sqrt((x * x).sum(axis=0)), np.sqrt((y * y).sum(axis=0)))


def _candidate_pairs(values: np.ndarray, present: np.ndarray, cc: CorrelationConfig) -> list[tuple[int, int]]:
    """The pairs of columns (i < j) that may raise an alert, screened with every pair's correlations at once.

    A pair's correlations use the rows where both are present; columns present on the same rows form a group, so
    each pair of groups shares its rows and its correlations are one matrix product (a few groups: instruments
    that trade every calendar day, on exchange days, ...). The screen keeps every pair within a small margin of
    an alert threshold (and any pair whose correlation is undefined); the exact per-pair figures decide.
    """
    patterns, group_of = np.unique(present.T, axis=0, return_inverse=True)
    groups = [np.flatnonzero(group_of.reshape(-1) == g) for g in range(len(patterns))]
    margin = 1e-9
    pairs: set[tuple[int, int]] = set()
    for gi, left in enumerate(groups):
        for gj in range(gi, len(groups)):
            right = groups[gj]
            both = np.flatnonzero(patterns[gi] & patterns[gj])
            long_idx, short_idx = both[-cc.long_window :], both[-cc.short_window :]
            if len(long_idx) < cc.min_obs_long or len(short_idx) < cc.min_obs_short:
                continue
            c_long = _block_corr(values, long_idx, left, right)
            c_short = _block_corr(values, short_idx, left, right)
            small_change = np.abs(c_short - c_long) < cc.min_change - margin
            no_link = (np.abs(c_long) < cc.min_abs_long - margin) & (np.abs(c_short) < cc.surge_abs_short - margin)
            for a, b in zip(*np.nonzero(~(small_change | no_link)), strict=True):
                i, j = int(left[a]), int(right[b])
                if i != j:
                    pairs.add((min(i, j), max(i, j)))
    return sorted(pairs)


def correlation_alerts(day: date, inputs: PersonaInputs, config: InstitutionalConfig) -> list[CorrelationAlert]:
    """The largest correlation changes among all pairs of instruments.

    Every pair is screened at once in numpy (`_candidate_pairs`); only the pairs that pass are measured exactly
    (np.corrcoef over the pair's rows, as pandas' Series.corr), and only the `max_alerts` kept become items: the
    Python work grows with the alerts, not with the square of the universe.
    """
    cc = config.correlation
    wide = inputs.prices_wide(day, int(cc.long_window * 7 / 5) + 30, "ret_1d")
    if wide.empty:
        return []
    wide = wide[sorted(wide.columns)]
    values, dates = wide.to_numpy(dtype="float64"), wide.index
    present = ~np.isnan(values)
    symbols = list(wide.columns)
    found = []
    for ia, ib in _candidate_pairs(values, present, cc):
        both = np.flatnonzero(present[:, ia] & present[:, ib])
        long_idx, short_idx = both[-cc.long_window :], both[-cc.short_window :]
        if len(long_idx) < cc.min_obs_long or len(short_idx) < cc.min_obs_short:
            continue
        c_long = _corr(values[long_idx, ia], values[long_idx, ib])
        c_short = _corr(values[short_idx, ia], values[short_idx, ib])
        if math.isnan(c_long) or math.isnan(c_short):
            continue
        change = c_short - c_long
        linked = abs(c_long) >= cc.min_abs_long
        flipped = np.sign(c_short) != np.sign(c_long) and abs(c_short) >= cc.flip_min_abs_short
        if linked and abs(change) >= cc.min_change and flipped:
            kind = "FLIP"
        elif linked and abs(change) >= cc.min_change and abs(c_short) < abs(c_long):
            kind = "BREAKDOWN"
        elif not linked and abs(c_short) >= cc.surge_abs_short and abs(change) >= cc.min_change:
            kind = "SURGE"
        else:
            continue
        a, b = symbols[ia], symbols[ib]
        found.append((-round(abs(change), 9), f"{a}~{b}", a, b, kind, c_short, c_long, long_idx, short_idx))
    found.sort(key=lambda x: (x[0], x[1]))
    alerts = []
    for _, subject, a, b, kind, c_short, c_long, long_idx, short_idx in found[: cc.max_alerts]:
        change = c_short - c_long
        rules = RulePath().add(
            "institutional.correlation",
            f"|long corr| >= {cc.min_abs_long} and |short - long| >= {cc.min_change} "
            f"(SURGE: unlinked and |short| >= {cc.surge_abs_short})",
            {"corr_short": c_short, "corr_long": c_long, "n_short": len(short_idx), "n_long": len(long_idx)},
            kind,
        )
        first, last = dates[long_idx[0]].date(), dates[long_idx[-1]].date()
        text = (
            f"{a}/{b} correlation {kind.lower()}: {c_short:+.2f} over the last {len(short_idx)} days against "
            f"{c_long:+.2f} over {len(long_idx)} days"
        )
        alerts.append(
            make_item(
                CorrelationAlert,
                persona=PERSONA,
                as_of=day,
                subject=subject,
                symbol=a,
                action=kind,
                text=text,
                rules=rules,
                data_refs=[f"prices:{a}@{first}..{last}", f"prices:{b}@{first}..{last}"],
                symbol_b=b,
                corr_short=r6(c_short),
                corr_long=r6(c_long),
                change=r6(change),
                window_short=cc.short_window,
                window_long=cc.long_window,
                n_short=len(short_idx),
                n_long=len(long_idx),
            )
        )
    return alerts


def _sentiment(
    day: date, inputs: PersonaInputs, feats: pd.DataFrame, signals: pd.DataFrame, config: InstitutionalConfig
) -> list[SentimentDivergence]:
    out = []
    feat_by = {str(r["symbol"]): r for _, r in feats.iterrows()}
    rows_of = RowsBy(signals, "symbol")
    for _, sig in signals.iterrows():
        label = sig["sentiment_label"]
        if not isinstance(label, str) or label not in config.sentiment_labels:
            continue
        symbol = str(sig["symbol"])
        feat = feat_by.get(symbol)
        ret20 = num(feat["ret_20d"]) if feat is not None else None
        share = num(feat["cot_spec_net_share"]) if feat is not None else None
        z52 = num(feat["cot_spec_z52"]) if feat is not None else None
        rules = RulePath().add(
            "signals.sentiment_label",
            f"label in {list(config.sentiment_labels)}",
            {"label": label, "rule_sentiment": num(sig["rule_sentiment"])},
            label,
        )
        text = f"{inputs.name(symbol)}: {label.lower()}, {IMPLICATIONS[label]} (20-day {signed_pct(ret20)})"
        out.append(
            make_item(
                SentimentDivergence,
                persona=PERSONA,
                as_of=day,
                subject=symbol,
                symbol=symbol,
                action=label,
                text=text,
                rules=rules,
                signals=rows_of(symbol),
                data_refs=feature_refs([symbol], feats),
                ret_20d=r6(ret20),
                cot_spec_net_share=r6(share),
                cot_spec_z52=r6(z52),
                rule_sentiment=r6(num(sig["rule_sentiment"])),
                implication=IMPLICATIONS[label],
            )
        )
    return out


def build_institutional(
    inputs: PersonaInputs, day: date, config: InstitutionalConfig | None = None
) -> InstitutionalOutput:
    """Factor momentum, the momentum table, correlation alerts and sentiment for `day`."""
    config = config or InstitutionalConfig()
    feats = inputs.features_asof(day, config.max_feature_age_days)
    signals = inputs.signals_on(day, config.horizon)
    factors = _factors(day, feats, signals, config)
    leader = next((f.asset_class for f in factors if f.role == "LEADER"), None)
    laggard = next((f.asset_class for f in factors if f.role == "LAGGARD"), None)
    return InstitutionalOutput(
        as_of=day,
        horizon=config.horizon,
        leader=leader,
        laggard=laggard,
        factors=factors,
        momentum=_momentum_rows(day, inputs, feats, config),
        correlation_alerts=correlation_alerts(day, inputs, config),
        sentiment=_sentiment(day, inputs, feats, signals, config),
    )


def to_rows(output: InstitutionalOutput) -> pa.Table:
    return output_rows(output)
