"""Effect features: each effect class in one sign and scale, only while its news is fresh, and point in time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assets.models.effect_features import EFFECT_FEATURES, EffectFeatureConfig, add_effect_features
from assets.models.pipeline import ModelStageConfig
from assets.models.walk_forward import WalkForwardConfig, prepare_panel, train_model
from tests.unit.test_walk_forward import make_synthetic_panel

DAYS = pd.bdate_range("2024-01-01", periods=12)


def _frame(symbol: str, asset_class: str, **columns: list[float]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"symbol": symbol, "asset_class": asset_class, "trade_date": DAYS[:n], **columns})


def test_crowd_extremes_count_beyond_the_threshold_while_the_report_is_fresh():
    # a report on day 0 (3 days after its Tuesday), the next one on day 5: the days-since counter falls there
    since = [3, 6, 7, 8, 9, 10, 3, 6]
    frame = _frame("SPX", "equity", cot_spec_z52=[2.0] * 6 + [-1.0] * 2, cot_days_since_report=since)
    five = add_effect_features(frame, horizon=5)
    assert five["cot_crowd_extreme"].tolist() == pytest.approx([0.5] * 6 + [0.0] * 2)
    # D+1..D+5 inside the 5 trading days after the release: 5, 4, 3, 2, 1, 0 of them
    assert five["cot_crowd_fresh"].tolist() == pytest.approx([0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.0, 0.0])
    one = add_effect_features(frame, horizon=1)
    assert one["cot_crowd_fresh"].tolist() == pytest.approx([0.5] * 5 + [0.0] * 3)
    short = add_effect_features(frame.assign(cot_spec_z52=-2.5), horizon=10)
    assert short["cot_crowd_fresh"].iloc[0] == pytest.approx(-1.0)  # 5 of 10 days, as a share of the most (5)


def test_crude_news_reaches_crude_only_and_vix_backwardation_equities_only():
    energy = {"crude_surprise_z": [1.2] * 3, "energy_days_since_release": [0.0, 1.0, 2.0]}
    vix = {"vix_backwardation": [1.0, 0.0, 0.0]}
    frame = pd.concat(
        [
            _frame("WTI", "commodity", **energy, **vix),
            _frame("NATGAS", "commodity", **energy, **vix),
            _frame("SPX", "equity", **energy, **vix),
        ],
        ignore_index=True,
    )
    out = add_effect_features(frame, horizon=5).set_index(["symbol", "trade_date"])
    assert out.loc["WTI", "crude_surprise_fresh"].tolist() == pytest.approx([1.2, 0.96, 0.72])
    assert (out.loc["NATGAS", "crude_surprise_fresh"] == 0).all() and (
        out.loc["SPX", "crude_surprise_fresh"] == 0
    ).all()
    assert out.loc["SPX", "vix_backwardation_recent"].tolist() == pytest.approx([1.0, 0.8, 0.6])
    assert (out.loc["WTI", "vix_backwardation_recent"] == 0).all()


def test_level_gap_is_in_units_of_daily_volatility_after_enough_history():
    close = np.exp(np.r_[np.zeros(20), 0.1])
    frame = pd.DataFrame(
        {
            "symbol": "EURUSD",
            "trade_date": pd.bdate_range("2024-01-01", periods=21),
            "close": close,
            "rvol_20d": 0.16,
        }
    )
    out = add_effect_features(frame, horizon=5, config=EffectFeatureConfig(level_min_rows=20))
    assert out["level_gap_z"].iloc[:19].isna().all()
    assert out["level_gap_z"].iloc[19] == 0.0
    assert out["level_gap_z"].iloc[20] == pytest.approx((0.1 - 0.1 / 21) / (0.16 / np.sqrt(252)))


def _regime_panel(years: float = 4.0, block: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two equities of the synthetic panel rebuilt from one market factor that alternates calm blocks (drifting up,
    low volatility) and stressed ones (drifting down, high volatility): SPX loads +1 on it, NDX -1. No other effect.
    """
    features, labels = make_synthetic_panel(n_symbols=2, years=years, seed=3, effect=0.0)
    rng = np.random.default_rng(5)
    n = int((features["symbol"] == "SPX").sum())
    calm = (np.arange(n) // block) % 2 == 0
    factor = np.where(calm, 0.002, -0.002) + np.where(calm, 0.004, 0.016) * rng.standard_normal(n)
    for symbol, beta in (("SPX", 1.0), ("NDX", -1.0)):
        rows = features.index[features["symbol"] == symbol]
        lp = pd.Series(np.log(100.0) + np.cumsum(beta * factor + 0.002 * rng.standard_normal(n)), index=rows)
        r1 = lp.diff()
        features.loc[rows, "close"] = np.exp(lp)
        for h in (1, 5, 20, 60, 120, 250):
            features.loc[rows, f"ret_{h}d"] = lp - lp.shift(h)
        features.loc[rows, "rvol_20d"] = r1.rolling(20).std() * np.sqrt(252)
        features.loc[rows, "rvol_60d"] = r1.rolling(60).std() * np.sqrt(252)
        label_rows = labels.index[labels["symbol"] == symbol]
        for h in (1, 2, 3, 5, 7, 10):
            labels.loc[label_rows, f"fwd_ret_{h}d"] = (lp.shift(-h) - lp).to_numpy()
    return features, labels


def test_market_beta_carries_each_instruments_own_sign_of_the_market_regime():
    features, _ = _regime_panel(years=2.0)
    out = add_effect_features(features, horizon=5).set_index(["symbol", "trade_date"])
    late = out.index.get_level_values("trade_date") >= pd.Timestamp("2016-06-01").date()
    beta = out.loc[late, "market_beta"]
    assert beta.loc["SPX"].to_numpy() == pytest.approx(1.0)
    assert beta.loc["NDX"].between(-1.1, -0.9).all()
    # in a stressed block the market's volatility is above its median: stress > 0, so the exposure has beta's sign
    stress = out.loc[late, "beta_market_stress"]
    np.testing.assert_allclose(stress.loc["NDX"], -stress.loc["SPX"] * -beta.loc["NDX"], rtol=1e-9)
    assert stress.loc["SPX"].std() > 0.3


def test_the_models_probabilities_differ_between_instruments_with_opposite_effects_on_one_day():
    """The complaint of issue 11: the pooled model gave nearly one probability to every instrument on a day, so all
    decisions went one way. With an instrument's own exposure among the features, a calm day's probabilities of a
    rise differ between an instrument the calm market lifts and one it pushes down, in that order."""
    features, labels = _regime_panel()
    config = ModelStageConfig().walk_forward.for_horizon(5)
    panel = prepare_panel(features, labels, config)
    cutoff = pd.Timestamp("2018-06-29")
    train = panel[panel["label"].notna() & (panel["label_end"] <= cutoff)]
    model = train_model(train, cutoff.date(), config)
    later = panel[panel["trade_date"] > cutoff + pd.Timedelta(days=10)]
    calm = later[(later["symbol"] == "SPX") & (later["beta_market_stress"] < -0.3)]["trade_date"].iloc[0]
    day = later[later["trade_date"] == calm].set_index("symbol")
    p = model.predict_frame(day.reset_index()).set_index("symbol")
    assert p.loc["SPX", "p_up"] - p.loc["NDX", "p_up"] > 0.1, p[["p_down", "p_flat", "p_up"]]
    assert p.loc["NDX", "p_down"] > p.loc["SPX", "p_down"]


def test_rows_keep_their_order_and_missing_inputs_add_no_column():
    frame = _frame("SPX", "equity", vix_backwardation=[0.0, 1.0, 0.0]).iloc[::-1]
    out = add_effect_features(frame, horizon=5)
    assert out.index.tolist() == frame.index.tolist()
    assert out["vix_backwardation_recent"].tolist() == pytest.approx([0.8, 1.0, 0.0])
    assert "cot_crowd_fresh" not in out and "level_gap_z" not in out


def test_cutting_the_data_after_t_leaves_every_earlier_effect_feature_identical():
    features, _ = make_synthetic_panel(n_symbols=4, years=2.0, seed=3)
    full = add_effect_features(features, horizon=5)
    cut = pd.Timestamp("2016-03-15").date()
    kept = features["trade_date"] <= cut
    truncated = add_effect_features(features[kept], horizon=5)
    assert set(EFFECT_FEATURES) <= set(full.columns)
    pd.testing.assert_frame_equal(truncated, full[kept], check_exact=True)


def test_the_shipped_model_reads_the_effect_features_of_the_panel():
    config = ModelStageConfig().walk_forward
    assert config.features == EFFECT_FEATURES
    features, labels = make_synthetic_panel(n_symbols=2, years=1.0, seed=5)
    panel = prepare_panel(features, labels, WalkForwardConfig(horizon=3))
    again = add_effect_features(features, horizon=3)
    merged = panel.merge(
        again[["symbol", "trade_date", "cot_crowd_fresh"]].assign(trade_date=lambda f: pd.to_datetime(f["trade_date"])),
        on=["symbol", "trade_date"],
        suffixes=("", "_direct"),
    )
    pd.testing.assert_series_equal(merged["cot_crowd_fresh"], merged["cot_crowd_fresh_direct"], check_names=False)


def test_a_universe_without_the_market_has_an_unknown_exposure_and_still_trains():
    """The real files carry no SPX: the exposure is missing (not zero, not absent), so the shipped model still fits."""
    features, labels = make_synthetic_panel(n_symbols=3, years=2.0, seed=5)
    features = features[features["symbol"] != "SPX"]
    labels = labels[labels["symbol"] != "SPX"]
    assert features["symbol"].nunique() >= 2
    config = ModelStageConfig().walk_forward.for_horizon(5)
    panel = prepare_panel(features, labels, config)
    assert panel["beta_market_stress"].isna().all() and panel["market_beta"].isna().all()
    cutoff = pd.Timestamp("2016-09-30")
    model = train_model(panel[panel["label"].notna() & (panel["label_end"] <= cutoff)], cutoff.date(), config)
    later = panel[panel["trade_date"] > cutoff + pd.Timedelta(days=10)].head(20)
    assert model.predict_frame(later)[["p_down", "p_flat", "p_up"]].notna().all().all()
