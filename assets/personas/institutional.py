"""Institutional: factor (asset-class) momentum with allocation weights, the cross-asset momentum table,
correlation-breakdown alerts and sentiment divergence.

Momentum is read from the features known at the day (12-month log return, distance to the 200-day mean); the
relative-strength rank orders instruments by that return. Correlations use daily returns of the price history on
the days both instruments traded; a pair that usually moves together (or apart) and no longer does is an alert.
Sentiment comes from the signals' own rule (price momentum against the speculators' positioning change).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from assets.personas.common import (
    RulePath,
    feature_refs_by_symbol,
    frame_records,
    guard_reason,
    make_item,
    num,
    pct,
    r6,
    refs_of,
    signed_pct,
)
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


@dataclass(frozen=True)
class _DayFeatures:
    """The day's as-of feature rows as plain arrays: every item reads a few values of one row, and a pandas row
    (iterrows) or a mask per item cost far more than the item's own work."""

    frame: pd.DataFrame
    symbols: list[str]
    refs: dict[str, list[str]]

    @classmethod
    def of(cls, feats: pd.DataFrame) -> _DayFeatures:
        return cls(feats, [str(s) for s in feats["symbol"].to_numpy().tolist()], feature_refs_by_symbol(feats))

    def values(self, column: str) -> list[float | None]:
        """The column as `num` reads each value (None for missing or infinite)."""
        return [num(v) for v in self.frame[column].to_numpy(dtype="float64").tolist()]

    def refs_of(self, symbols: Iterable[str]) -> list[str]:
        """`feature_refs(symbols, frame)` from the refs built once for the day."""
        return refs_of(self.refs, symbols)


def _dist_history(inputs: PersonaInputs) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per symbol, its (trade dates as int64 ns, dist_ma200) in date order: one stable sort of the features for all
    days, where each day used to select and sort its own window. Rows without a date fall in no window."""

    def compute() -> dict[str, tuple[np.ndarray, np.ndarray]]:
        frame = inputs.features[inputs.features["trade_date"].notna()]
        ordered = frame.sort_values(["symbol", "trade_date"], kind="stable")
        dates = ordered["trade_date"].to_numpy().astype("datetime64[ns]").view("int64")
        dist = ordered["dist_ma200"].to_numpy(dtype="float64")
        positions: dict[str, list[int]] = {}
        symbols = ordered["symbol"].to_numpy()
        for position, (symbol, missing) in enumerate(zip(symbols.tolist(), pd.isna(symbols).tolist(), strict=True)):
            if not missing:
                positions.setdefault(symbol, []).append(position)
        return {symbol: (dates[rows], dist[rows]) for symbol, rows in positions.items()}

    return inputs.memo(("institutional.dist_history",), (inputs.features,), compute)


def _ma200_state(dist: np.ndarray, lookback: int) -> str:
    """ABOVE/BELOW the 200-day mean, or CROSSED_* when the sign changed within the last `lookback` rows of `dist`
    (a symbol's dist_ma200 of the window, in date order)."""
    dist = dist[~np.isnan(dist)]
    if not len(dist):
        return "UNKNOWN"
    now = bool(dist[-1] > 0)
    positive = dist[-(lookback + 1) :] > 0
    if positive.any() != positive.all():
        return "CROSSED_ABOVE" if now else "CROSSED_BELOW"
    return "ABOVE" if now else "BELOW"


def _rank_descending(values: np.ndarray) -> list[int | None]:
    """`Series.rank(ascending=False, method="first")`: 1 for the largest, ties in order of appearance, None for NaN."""
    ranked = np.flatnonzero(~np.isnan(values))
    order = ranked[np.argsort(-values[ranked], kind="stable")]
    ranks: list[int | None] = [None] * len(values)
    for rank, position in enumerate(order.tolist(), start=1):
        ranks[position] = rank
    return ranks


def _trend(ret12: float | None, state: str) -> str:
    if ret12 is not None and ret12 > 0 and state in ("ABOVE", "CROSSED_ABOVE"):
        return "UPTREND"
    if ret12 is not None and ret12 < 0 and state in ("BELOW", "CROSSED_BELOW"):
        return "DOWNTREND"
    return "MIXED"


def _momentum_rows(
    day: date, inputs: PersonaInputs, feats: _DayFeatures, config: InstitutionalConfig
) -> list[MomentumRow]:
    history = _dist_history(inputs)
    no_history = (np.empty(0, dtype="int64"), np.empty(0, dtype="float64"))
    ts = pd.Timestamp(day)
    window = np.array([(ts - pd.Timedelta(days=45)).value, ts.value])  # (first excluded, last included)
    ret = feats.frame["ret_250d"].to_numpy(dtype="float64")
    ranks = _rank_descending(ret)
    n_ranked = int((~np.isnan(ret)).sum())
    rows = []
    classes = feats.frame["asset_class"].to_numpy().tolist()
    for symbol, cls, r250, dist, ranked in zip(
        feats.symbols, classes, feats.values("ret_250d"), feats.values("dist_ma200"), ranks, strict=True
    ):
        ret12 = math.expm1(r250) if r250 is not None else None
        dates, dist_history = history.get(symbol, no_history)
        lo, hi = np.searchsorted(dates, window, side="right")
        state = _ma200_state(dist_history[lo:hi], config.crossover_lookback)
        rank = ranked if r250 is not None else None
        pctile = r6(1 - (rank - 1) / max(1, n_ranked - 1)) if rank is not None and n_ranked > 1 else None
        trend = _trend(ret12, state)
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
                data_refs=feats.refs_of([symbol]),
                asset_class=str(cls),
                return_12m=r6(ret12),
                dist_ma200=r6(dist),
                ma200_state=state,
                rs_rank=rank,
                rs_percentile=pctile,
            )
        )
    return sorted(rows, key=lambda r: (r.rs_rank or 10**6, r.subject))


def _mean(values: np.ndarray) -> float:
    """`Series.mean()` (skipping NaN) bit for bit: NaN counted out and summed as 0 (numpy's pairwise sum of the
    same array), nan without values."""
    missing = np.isnan(values)
    with np.errstate(all="ignore"):
        if not missing.any():
            return float(values.sum() / len(values))
        return float(np.where(missing, 0.0, values).sum() / (len(values) - int(missing.sum())))


def _class_stats(feats: _DayFeatures, config: InstitutionalConfig) -> list[tuple[str, float, list[str]]]:
    """(asset class, mean 12-month return, sorted members) of each allocation class with a known return, best first."""
    classes = feats.frame["asset_class"].to_numpy().tolist()
    ret12 = np.expm1(feats.frame["ret_250d"].to_numpy(dtype="float64"))
    excluded = set(config.excluded_asset_classes)
    rows_of: dict[str, list[int]] = {}
    for position, (cls, value) in enumerate(zip(classes, ret12.tolist(), strict=True)):
        if cls not in excluded and cls in config.strategic_weights and not math.isnan(value):
            rows_of.setdefault(cls, []).append(position)
    stats = [(cls, _mean(ret12[rows]), sorted(feats.symbols[p] for p in rows)) for cls, rows in sorted(rows_of.items())]
    stats.sort(key=lambda s: (-s[1], s[0]))
    return stats


def _class_positions(signals: pd.DataFrame, stats: list[tuple[str, float, list[str]]]) -> dict[str, list[int]]:
    """Per class, the positions of its members' signal rows, in signal order."""
    symbols = signals["symbol"].to_numpy().tolist()
    member_sets = {cls: set(members) for cls, _, members in stats}
    return {cls: [p for p, sym in enumerate(symbols) if sym in in_class] for cls, in_class in member_sets.items()}


def _factors(
    day: date, feats: _DayFeatures, signals: pd.DataFrame, config: InstitutionalConfig
) -> list[FactorMomentum]:
    stats = _class_stats(feats, config)
    if not stats:
        return []
    leader, laggard = stats[0][0], stats[-1][0]
    tilt = config.tilt if len(stats) > 1 else 0.0
    # no overweight in a class whose instruments the strategy's drawdown guard cuts: the best-ranked class it does
    # not cut (other than the laggard) takes the overweight; with none, the laggard's weight goes to cash
    signal_symbols = signals["symbol"].to_numpy().tolist()
    cut = {
        str(sym): str(st) for sym, st in zip(signal_symbols, signals["drawdown_state"].to_numpy().tolist(), strict=True)
    }
    cut = {sym: st for sym, st in cut.items() if st != "FULL_SIZE"}
    regime_of = {str(sym): str(r) for sym, r in zip(signal_symbols, signals["regime"].to_numpy().tolist(), strict=True)}
    rule_factor = signals["rule_factor_momentum"].to_numpy(dtype="float64")
    class_positions = _class_positions(signals, stats)
    records = frame_records(signals)  # the rows each class's item cites
    guarded = {cls: sorted(set(members) & set(cut)) for cls, _, members in stats}
    over = next((cls for cls, _, _ in stats if cls != laggard and not guarded[cls]), None) if tilt else None
    out = []
    for rank, (cls, mom, members) in enumerate(stats, start=1):
        role = "LEADER" if cls == leader else "LAGGARD" if cls == laggard and len(stats) > 1 else "MIDDLE"
        strategic = config.strategic_weights[cls]
        delta = tilt if cls == over else -min(tilt, strategic) if role == "LAGGARD" else 0.0
        target = strategic + delta
        action = "OVERWEIGHT" if delta > 0 else "UNDERWEIGHT" if delta < 0 else "HOLD"
        used_rows = class_positions[cls]
        rule_fm = num(_mean(rule_factor[used_rows])) if used_rows else None
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
                signals=[records[p] for p in used_rows],
                data_refs=feats.refs_of(members),
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


def _column_groups(present: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The distinct columns of `present` (sorted as `np.unique(present.T, axis=0)` sorts them) and, for each, the
    columns equal to it: a dict of a dozen columns' bytes, where np.unique sorts structured rows (a third of the
    screen's time)."""
    columns_of: dict[bytes, list[int]] = {}
    for column in range(present.shape[1]):
        columns_of.setdefault(present[:, column].tobytes(), []).append(column)
    ordered = sorted(columns_of.items())
    return [np.frombuffer(key, dtype=bool) for key, _ in ordered], [np.asarray(cols) for _, cols in ordered]


def _candidate_pairs(values: np.ndarray, present: np.ndarray, cc: CorrelationConfig) -> list[tuple[int, int]]:
    """The pairs of columns (i < j) that may raise an alert, screened with every pair's correlations at once.

    A pair's correlations use the rows where both are present; columns present on the same rows form a group, so
    each pair of groups shares its rows and its correlations are one matrix product (a few groups: instruments
    that trade every calendar day, on exchange days, ...). The screen keeps every pair within a small margin of
    an alert threshold (and any pair whose correlation is undefined); the exact per-pair figures decide.
    """
    patterns, groups = _column_groups(present)
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
    Python work grows with the alerts, not with the square of the universe. The wealth manager shows the same
    alerts: computed once per day and correlation settings (the items are frozen; each caller gets its own list).
    """
    cc = config.correlation
    key = ("correlation_alerts", day, cc.model_dump_json())
    return list(inputs.memo(key, (inputs.prices,), lambda: _correlation_alerts(day, inputs, cc)))


def _correlation_alerts(day: date, inputs: PersonaInputs, cc: CorrelationConfig) -> list[CorrelationAlert]:
    wide = inputs.prices_wide(day, int(cc.long_window * 7 / 5) + 30, "ret_1d")
    if wide.empty:
        return []
    # the columns sorted in numpy (a column selection of the frame cost more than the whole screen)
    columns = wide.columns.tolist()
    order = sorted(range(len(columns)), key=columns.__getitem__)
    values, dates = np.ascontiguousarray(wide.to_numpy(dtype="float64")[:, order]), wide.index
    present = ~np.isnan(values)
    symbols = [columns[i] for i in order]
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
    day: date, inputs: PersonaInputs, feats: _DayFeatures, signals: pd.DataFrame, config: InstitutionalConfig
) -> list[SentimentDivergence]:
    out = []
    # the last row of a symbol, as a dict built from the rows would keep
    feat_at = {symbol: position for position, symbol in enumerate(feats.symbols)}
    ret20, share, z52 = feats.values("ret_20d"), feats.values("cot_spec_net_share"), feats.values("cot_spec_z52")
    rows_of: dict[str, list[dict[str, object]]] = {}
    for record in frame_records(signals):
        rows_of.setdefault(record["symbol"], []).append(record)
    labels = signals["sentiment_label"].to_numpy().tolist()
    symbols = signals["symbol"].to_numpy().tolist()
    rule_sentiment = signals["rule_sentiment"].to_numpy().tolist()
    for label, raw_symbol, rule in zip(labels, symbols, rule_sentiment, strict=True):
        if not isinstance(label, str) or label not in config.sentiment_labels:
            continue
        symbol = str(raw_symbol)
        at = feat_at.get(symbol)
        r20 = ret20[at] if at is not None else None
        rules = RulePath().add(
            "signals.sentiment_label",
            f"label in {list(config.sentiment_labels)}",
            {"label": label, "rule_sentiment": num(rule)},
            label,
        )
        text = f"{inputs.name(symbol)}: {label.lower()}, {IMPLICATIONS[label]} (20-day {signed_pct(r20)})"
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
                signals=rows_of.get(symbol, []),
                data_refs=feats.refs_of([symbol]),
                ret_20d=r6(r20),
                cot_spec_net_share=r6(share[at] if at is not None else None),
                cot_spec_z52=r6(z52[at] if at is not None else None),
                rule_sentiment=r6(num(rule)),
                implication=IMPLICATIONS[label],
            )
        )
    return out


def build_institutional(
    inputs: PersonaInputs, day: date, config: InstitutionalConfig | None = None
) -> InstitutionalOutput:
    """Factor momentum, the momentum table, correlation alerts and sentiment for `day`."""
    config = config or InstitutionalConfig()
    feats = _DayFeatures.of(inputs.features_asof(day, config.max_feature_age_days))
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
