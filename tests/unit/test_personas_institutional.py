"""Institutional: factor momentum leader and laggard with weights, the cross-asset momentum table, correlation
breakdown alerts (planted on the oil pair) and sentiment divergence."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from assets.personas.config import InstitutionalConfig
from assets.personas.inputs import PersonaInputs
from assets.personas.institutional import build_institutional, correlation_alerts
from tests.unit.test_personas_inputs import DAY, make_inputs


@pytest.fixture(scope="module")
def inputs() -> PersonaInputs:
    return make_inputs()


@pytest.fixture(scope="module")
def output(inputs):
    return build_institutional(inputs, DAY)


def test_factor_leader_and_laggard_with_allocation_weights(inputs):
    # without the drawdown guard, whose effect on the overweight is tested below
    unguarded = inputs.model_copy(update={"signals": inputs.signals.assign(drawdown_state="FULL_SIZE")})
    output = build_institutional(unguarded, DAY)
    config = InstitutionalConfig()
    feats = inputs.features_asof(DAY)
    feats = feats[feats["asset_class"] != "volatility"]
    means = np.expm1(feats["ret_250d"]).groupby(feats["asset_class"]).mean().sort_values(ascending=False)
    assert output.leader == means.index[0] and output.laggard == means.index[-1]
    by_class = {f.asset_class: f for f in output.factors}
    assert "volatility" not in by_class
    leader, laggard = by_class[output.leader], by_class[output.laggard]
    assert (leader.role, leader.action, leader.rank) == ("LEADER", "OVERWEIGHT", 1)
    assert (laggard.role, laggard.action, laggard.rank) == ("LAGGARD", "UNDERWEIGHT", len(by_class))
    assert leader.target_weight == pytest.approx(leader.strategic_weight + config.tilt)
    assert laggard.target_weight == pytest.approx(laggard.strategic_weight - config.tilt)
    assert sum(f.target_weight for f in output.factors) == pytest.approx(
        sum(f.strategic_weight for f in output.factors)
    )
    assert leader.momentum_12m == pytest.approx(means.iloc[0], abs=1e-6)
    assert leader.signal_refs and leader.data_refs  # signals (factor rule) and feature rows used


def _cut_symbols(inputs: PersonaInputs) -> set[str]:
    rows = inputs.signals_on(DAY, InstitutionalConfig().horizon)
    return set(rows.loc[rows["drawdown_state"] != "FULL_SIZE", "symbol"])


def test_no_overweight_in_a_class_the_drawdown_guard_cuts(inputs, output):
    cut = _cut_symbols(inputs)
    by_class = {f.asset_class: f for f in output.factors}
    leader = by_class[output.leader]
    assert set(leader.members) & cut  # the planted day: the guard cuts Bitcoin, crypto leads on momentum
    assert leader.action == "HOLD" and leader.target_weight == leader.strategic_weight
    assert "drawdown guard cuts BTC (our paper track record on it is in drawdown: position size halved" in leader.text
    assert "REDUCE" not in leader.text
    over = [f for f in output.factors if f.action == "OVERWEIGHT"]
    assert len(over) == 1 and not set(over[0].members) & cut
    free = [f.rank for f in output.factors if not set(f.members) & cut and f.role != "LAGGARD"]
    assert over[0].rank == min(free) and "in place of the leader" in over[0].text
    assert sum(f.target_weight for f in output.factors) == pytest.approx(
        sum(f.strategic_weight for f in output.factors)
    )


def test_when_the_guard_cuts_every_class_the_laggards_weight_goes_to_cash(inputs):
    everything = inputs.model_copy(update={"signals": inputs.signals.assign(drawdown_state="REDUCE_75")})
    output = build_institutional(everything, DAY)
    assert not [f for f in output.factors if f.action == "OVERWEIGHT"]
    leader = next(f for f in output.factors if f.role == "LEADER")
    assert "the laggard's weight goes to cash" in leader.text and "cut by three quarters" in leader.text


def test_momentum_table_ranks_by_twelve_month_return(inputs, output):
    rows = output.momentum
    assert [r.rs_rank for r in rows] == list(range(1, len(rows) + 1))
    returns = [r.return_12m for r in rows]
    assert returns == sorted(returns, reverse=True)
    for r in rows:
        assert (r.dist_ma200 > 0) == (r.ma200_state in ("ABOVE", "CROSSED_ABOVE"))
        if r.action == "UPTREND":
            assert r.return_12m > 0 and r.dist_ma200 > 0
        if r.action == "DOWNTREND":
            assert r.return_12m < 0 and r.dist_ma200 < 0
    assert rows[0].rs_percentile == 1.0 and rows[-1].rs_percentile == 0.0


def test_a_recent_200_day_cross_is_flagged(inputs):
    feats = inputs.features.copy()
    spx = feats["symbol"] == "SPX"
    feats.loc[spx & (feats["trade_date"] < pd.Timestamp(DAY)), "dist_ma200"] = -0.02
    feats.loc[spx & (feats["trade_date"] == pd.Timestamp(DAY)), "dist_ma200"] = 0.01
    out = build_institutional(inputs.model_copy(update={"features": feats}), DAY)
    assert next(r for r in out.momentum if r.subject == "SPX").ma200_state == "CROSSED_ABOVE"


def test_planted_correlation_breakdown_is_found(output):
    alerts = {a.subject: a for a in output.correlation_alerts}
    oil = alerts["BRENT~WTI"]
    # the planted loss of the link: a breakdown, or a flip when the noise of 20 days happens to turn negative
    assert oil.action in ("BREAKDOWN", "FLIP") and oil.corr_long > 0.5 and oil.change <= -0.4
    assert oil.n_short == 20 and oil.n_long == 250 and oil.data_refs
    assert "SPX~NDX" not in alerts and "NDX~SPX" not in alerts  # still moving together


def _pair_prices(short_sign: float) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    days = pd.bdate_range(date(2023, 1, 2), periods=300)
    common = rng.normal(0, 0.01, len(days))
    b = common + rng.normal(0, 0.002, len(days))
    b[-20:] = short_sign * common[-20:] + rng.normal(0, 0.002, 20)
    rows = []
    for symbol, rets in (("SPX", common), ("NDX", b)):
        close = 100 * np.exp(np.cumsum(rets))
        rows += [
            {"symbol": symbol, "trade_date": d.date(), "close": c, "ret_1d": r}
            for d, c, r in zip(days, close, rets, strict=True)
        ]
    return pd.DataFrame(rows)


def _prices_only(inputs: PersonaInputs, prices: pd.DataFrame) -> PersonaInputs:
    return PersonaInputs(
        signals=inputs.signals.iloc[0:0], features=inputs.features.iloc[0:0], prices=prices, universe=inputs.universe
    )


@pytest.mark.parametrize(("short_sign", "expected"), [(-1.0, ["FLIP"]), (0.0, ["BREAKDOWN"]), (1.0, [])])
def test_correlation_alert_kinds(inputs, short_sign, expected):
    prices = _pair_prices(short_sign)
    alerts = correlation_alerts(max(prices["trade_date"]), _prices_only(inputs, prices), InstitutionalConfig())
    assert [a.action for a in alerts] == expected
    assert all(a.subject == "NDX~SPX" for a in alerts)


def test_sentiment_divergence_lists_the_non_neutral_labels(inputs, output):
    labels = {s.subject: s.action for s in output.sentiment}
    assert labels == {"WTI": "DISTRIBUTION", "NATGAS": "ACCUMULATION", "USD": "CONFIRMATION"}
    wti = next(s for s in output.sentiment if s.subject == "WTI")
    assert "bearish" in wti.implication and wti.signal_refs[0].horizon == InstitutionalConfig().horizon
    assert wti.ret_20d is not None and wti.cot_spec_net_share is not None


def _many_pairs_prices(symbols: int = 40) -> pd.DataFrame:
    """Returns of many instruments with every alert kind, undefined correlations and mixed calendars: half trade
    on weekdays only, a quarter every calendar day (crypto), a quarter on weekdays with holes."""
    rng = np.random.default_rng(11)
    days = pd.date_range(date(2023, 1, 2), periods=420, freq="D")
    weekday = days.dayofweek < 5
    factor = rng.normal(0, 0.01, len(days))
    frames = []
    for k in range(symbols):
        loading = (-1.0) ** k * (0.2 + (k % 5) * 0.25)
        rets = loading * factor + rng.normal(0, 0.006, len(days))
        if k % 7 == 0:
            rets[-20:] = -loading * factor[-20:] + rng.normal(0, 0.002, 20)  # FLIP
        elif k % 7 == 1:
            rets[-20:] = rng.normal(0, 0.01, 20)  # BREAKDOWN
        elif k % 7 == 2:
            rets[:-20] = rng.normal(0, 0.01, len(days) - 20)  # SURGE: linked only lately
        if k == 3:
            rets[:] = 0.0  # no variance: undefined correlation
        keep = np.ones(len(days), bool) if k % 4 == 1 else weekday.copy()
        if k % 4 == 2:
            keep &= rng.random(len(days)) > 0.1
        frames.append(
            pd.DataFrame({"symbol": f"S{k:02d}", "trade_date": days[keep], "close": 100.0, "ret_1d": rets[keep]})
        )
    return pd.concat(frames, ignore_index=True)


def _pairwise_reference(prices: pd.DataFrame, config: InstitutionalConfig) -> list[tuple]:
    """The definition, pair by pair with pandas: Series.corr over the last rows where both have a return (within
    the price history the alerts look back on)."""
    cc = config.correlation
    last = prices["trade_date"].max()
    prices = prices[prices["trade_date"] > last - pd.Timedelta(days=int(cc.long_window * 7 / 5) + 30)]
    wide = prices.pivot_table(index="trade_date", columns="symbol", values="ret_1d", aggfunc="last").sort_index()
    found = []
    columns = sorted(wide.columns)
    for i, a in enumerate(columns):
        for b in columns[i + 1 :]:
            both = wide[[a, b]].dropna()
            long, short = both.tail(cc.long_window), both.tail(cc.short_window)
            if len(long) < cc.min_obs_long or len(short) < cc.min_obs_short:
                continue
            c_long, c_short = long[a].corr(long[b]), short[a].corr(short[b])
            if np.isnan(c_long) or np.isnan(c_short):
                continue
            change, linked = c_short - c_long, abs(c_long) >= cc.min_abs_long
            flipped = np.sign(c_short) != np.sign(c_long) and abs(c_short) >= cc.flip_min_abs_short
            kind = None
            if linked and abs(change) >= cc.min_change and flipped:
                kind = "FLIP"
            elif linked and abs(change) >= cc.min_change and abs(c_short) < abs(c_long):
                kind = "BREAKDOWN"
            elif not linked and abs(c_short) >= cc.surge_abs_short and abs(change) >= cc.min_change:
                kind = "SURGE"
            if kind:
                found.append((-round(abs(change), 9), f"{a}~{b}", kind, round(c_short, 6), round(c_long, 6)))
    return [f[1:] for f in sorted(found)[: cc.max_alerts]]


def test_correlation_alerts_equal_the_pairwise_definition_on_many_instruments(inputs, monkeypatch):
    """All pairs are screened at once and measured exactly: the same alerts as pair-by-pair pandas, and items
    are built only for the alerts kept (not for every pair)."""
    import assets.personas.institutional as institutional

    prices = _many_pairs_prices()
    config = InstitutionalConfig()
    built = []
    real_make_item = institutional.make_item
    monkeypatch.setattr(institutional, "make_item", lambda *a, **k: built.append(1) or real_make_item(*a, **k))
    alerts = correlation_alerts(prices["trade_date"].max().date(), _prices_only(inputs, prices), config)
    expected = _pairwise_reference(prices, config)
    assert len(expected) == config.correlation.max_alerts  # more candidates than alerts kept
    assert {kind for _, kind, _, _ in expected} >= {"FLIP", "SURGE"}
    assert [(a.subject, a.action, a.corr_short, a.corr_long) for a in alerts] == expected
    assert len(built) == len(alerts)
