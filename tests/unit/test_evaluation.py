"""Evaluation: metrics equal hand-computed values on tiny inputs; on the synthetic panel the planted effect is found
with the right sign, shuffled labels and pure noise give balanced accuracy within sampling noise of 0.5, and a
feature equal to the future return is flagged by the leak audit."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from assets.models.evaluation import (
    POOLED,
    AuditedGroup,
    EvaluationConfig,
    MetricsRow,
    balanced_accuracy_3class,
    cumulative_returns,
    directional_balanced_accuracy,
    evaluate,
    hit_rate,
    information_coefficient,
    leak_audit,
    load_leak_audits,
    majority_hit_rate,
    max_drawdown,
    overlapping_position,
    reliability_curve,
    sharpe_ratio,
    strategy_returns,
)
from assets.models.lgbm import default_features
from assets.models.plots import evaluation_pngs
from assets.models.walk_forward import WalkForwardConfig, walk_forward
from tests.unit.test_walk_forward import PLANTED_FEATURE, PLANTED_SIGN, make_synthetic_panel

# one horizon, yearly retraining: enough out-of-sample rows (~19,400) to see a 54 percent effect, fast enough
CONFIG = WalkForwardConfig(horizon=5, retrain_months=12)
Z_FAMILY = {
    PLANTED_FEATURE,
    "cot_spec_net_share",
    "cot_spec_pct52",
    "cot_index",
    "cot_divergence",
    "cot_divergence_z52",
}


# -- hand-computed metrics -------------------------------------------------------------------------------------


def test_directional_and_three_class_balanced_accuracy_by_hand():
    score = np.array([0.2, 0.1, -0.3, 0.05, -0.1, 0.3])
    label = np.array([1, 1, 1, -1, -1, 0])
    # UP recall 2/3, DOWN recall 1/2 (the FLAT row is not directional) -> 7/12
    assert directional_balanced_accuracy(score, label) == pytest.approx(7 / 12)
    pred = np.array([1, 0, -1, -1, -1, 0])
    # recalls: DOWN 2/2, FLAT 1/1, UP 1/3 -> (1 + 1 + 1/3) / 3
    assert balanced_accuracy_3class(pred, label) == pytest.approx(7 / 9)
    assert np.isnan(directional_balanced_accuracy(score, np.ones(6)))


def test_hit_rates_by_hand():
    signal = np.array([1.0, -1.0, 1.0, 0.0, 1.0])
    fwd = np.array([0.02, 0.01, -0.01, 0.03, 0.0])
    assert hit_rate(signal, fwd) == pytest.approx(1 / 3)  # zero signal and zero return skipped
    assert majority_hit_rate(np.array([0.1, 0.2, -0.1, 0.0, 0.3])) == pytest.approx(0.75)


def test_information_coefficient_and_overlap_adjusted_t_by_hand():
    score = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    fwd = np.array([0.1, 0.3, 0.2, 0.5, 0.4, 0.7, 0.6, 0.9, 0.8, 1.0])
    ic, t, n_eff = information_coefficient(score, fwd, horizon=2)
    # ranks differ by adjacent swaps: sum d^2 = 8, rho = 1 - 6 * 8 / (10 * 99)
    rho = 1 - 6 * 8 / (10 * 99)
    assert ic == pytest.approx(rho)
    assert n_eff == 5.0  # overlapping 2-day labels: half as many independent observations
    assert t == pytest.approx(rho * np.sqrt(3 / (1 - rho**2)))


def test_reliability_curve_by_hand():
    proba = np.array([[0.1, 0.2, 0.7], [0.15, 0.2, 0.65], [0.6, 0.3, 0.1], [0.55, 0.35, 0.1]])
    label = np.array([1, -1, -1, 0])
    bins = {(b["cls"], round(b["bin_lo"], 6)): b for b in reliability_curve(proba, label, bins=10)}
    up = bins[("UP", 0.6)]
    assert up["n"] == 2 and up["mean_predicted"] == pytest.approx(0.675) and up["observed"] == pytest.approx(0.5)
    down = bins[("DOWN", 0.5)]
    assert down["n"] == 2 and down["mean_predicted"] == pytest.approx(0.575) and down["observed"] == pytest.approx(0.5)


def test_positions_costs_sharpe_and_drawdown_by_hand():
    pos = overlapping_position(np.array([1.0, 1.0, -1.0, -1.0]), horizon=2)
    np.testing.assert_allclose(pos, [0.5, 1.0, 0.0, -1.0])
    net, turnover = strategy_returns(pos, np.array([0.01, -0.02, 0.03, 0.01]), cost_bps=10.0)
    np.testing.assert_allclose(turnover, [0.5, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(net, [0.005 - 0.0005, -0.02 - 0.0005, 0.0 - 0.001, -0.01 - 0.001])
    r = np.array([0.01, -0.01, 0.02])
    assert sharpe_ratio(r, 252) == pytest.approx(np.mean(r) / np.std(r, ddof=1) * np.sqrt(252))
    assert max_drawdown(np.array([0.1, -0.3, 0.1])) == pytest.approx(-0.3)


def test_evaluate_on_a_tiny_panel_matches_hand_computation():
    days = pd.bdate_range("2024-01-08", periods=6)  # no NYSE holidays in this week and the next Monday
    features = pd.DataFrame(
        {"symbol": "A", "trade_date": days.date, "calendar": "NYSE", "rvol_20d": 0.16, "close": 100.0}
    )
    fwd1 = [0.01, -0.02, 0.005, 0.01, -0.01, np.nan]
    labels = pd.DataFrame({"symbol": "A", "trade_date": days.date, "fwd_ret_1d": fwd1})
    p_up = np.array([0.6, 0.3, 0.5, 0.45, 0.7, 0.5])
    p_down = np.array([0.3, 0.5, 0.3, 0.45, 0.2, 0.4])
    preds = pd.DataFrame(
        {
            "symbol": "A",
            "trade_date": days,
            "horizon": 1,
            "p_down": p_down,
            "p_flat": 1 - p_up - p_down,
            "p_up": p_up,
            "score": p_up - p_down,
            "pred_class": [1, -1, 1, -1, 1, 1],
        }
    )
    config = EvaluationConfig(sizing="unit", cost_bps=10.0, labels={"k": 0.25})
    report = evaluate(preds, features, labels, config)
    row = next(m for m in report.metrics if m.symbol == "A")
    # band = 0.25 * 0.16 / sqrt(252) = 0.00252: labels UP, DOWN, UP, UP, DOWN, unknown
    assert row.n == 6 and row.n_directional == 5
    # signs of score: +, -, +, 0 (-> DOWN), +; UP recall 2/3, DOWN recall 1/2
    assert row.balanced_accuracy == pytest.approx(7 / 12)
    # hit rate skips the zero score: 3 right out of 4
    assert row.hit_rate == pytest.approx(3 / 4)
    sign = np.array([1.0, -1.0, 1.0, 0.0, 1.0])
    net, _ = strategy_returns(sign, np.array(fwd1[:5]), 10.0)
    assert row.sharpe == pytest.approx(sharpe_ratio(net, 252))
    assert row.sharpe_long_only == pytest.approx(sharpe_ratio(np.array(fwd1[:5]) - np.r_[0.001, 0, 0, 0, 0], 252))
    pooled = next(m for m in report.metrics if m.symbol == POOLED)
    assert pooled.balanced_accuracy == row.balanced_accuracy and pooled.n == row.n


def test_leak_audit_flags_every_meaningful_group_above_the_threshold():
    rows = [
        MetricsRow(horizon=1, symbol="A", n=1400, n_directional=1100, balanced_accuracy=0.61),  # z = 4.0
        MetricsRow(horizon=10, symbol="B", n=1400, n_directional=1100, balanced_accuracy=0.75),  # 110 eff., z = 4.2
        MetricsRow(horizon=10, symbol="C", n=400, n_directional=300, balanced_accuracy=0.65),  # 30 eff., z = 1.1
        MetricsRow(horizon=5, symbol=POOLED, n=9000, n_directional=7000, balanced_accuracy=0.54),
    ]
    audit = leak_audit(rows, EvaluationConfig())
    assert audit.flagged
    assert [o.split(":")[0] for o in audit.offenders] == ["h1/A", "h10/B"]
    assert [o.split(":")[0] for o in audit.within_noise] == ["h10/C"]
    assert audit.max_balanced_accuracy == pytest.approx(0.75)
    assert not leak_audit(rows[2:], EvaluationConfig()).flagged


def test_an_audited_group_passes_only_up_to_the_accuracy_a_person_accepted():
    audited = AuditedGroup(
        symbol="B",
        horizons=(7, 10),
        max_balanced_accuracy=0.76,
        audited_on="2026-11-21",
        finding="mean reversion of a non-tradable index, reproduced by a one-line rule",
    )
    rows = [MetricsRow(horizon=10, symbol="B", n=1400, n_directional=1100, balanced_accuracy=0.75)]
    audit = leak_audit(rows, EvaluationConfig(leak_audited=(audited,)))
    assert not audit.flagged and audit.acknowledged[0].startswith("h10/B: 0.750")
    worse = [rows[0].model_copy(update={"balanced_accuracy": 0.80})]
    assert leak_audit(worse, EvaluationConfig(leak_audited=(audited,))).flagged
    other = [rows[0].model_copy(update={"horizon": 5})]
    assert leak_audit(other, EvaluationConfig(leak_audited=(audited,))).flagged


def test_the_shipped_leak_audits_file_is_valid_and_mode_specific():
    from resources.settings import PROJECT_ROOT

    path = PROJECT_ROOT / "resources" / "config" / "leak_audits.yaml"
    files = load_leak_audits(path, "files")
    assert files and all(len(g.finding) > 50 for g in files)
    assert load_leak_audits(path, "simulated") == ()  # the simulated world has no such effect to excuse


# -- on the synthetic panel -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def panel() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_synthetic_panel()


@pytest.fixture(scope="module")
def planted(panel):
    result = walk_forward(*panel, CONFIG)
    return result, evaluate(result.predictions, *panel)


def _tolerance(n_directional: int, horizon: int = 1) -> float:
    """4 standard errors of a balanced accuracy at chance: se = 0.5 / sqrt(n) for two balanced classes, with
    n = n_directional / horizon when labels overlap (consecutive h-day returns share h - 1 days)."""
    return 4 * 0.5 / np.sqrt(n_directional / horizon)


def test_the_planted_effect_is_found_with_the_right_sign(panel, planted):
    result, report = planted
    pooled = next(m for m in report.metrics if m.symbol == POOLED)
    assert pooled.n > 19000
    assert pooled.ic > 0.03 and pooled.ic_t > 2.0
    assert 0.5 < pooled.balanced_accuracy < 0.6 and pooled.hit_rate > 0.51
    assert pooled.hit_rate > pooled.hit_rate_momentum
    assert not report.leak_audit.flagged
    # right sign: the forecast leans against the crowd (the planted drift is PLANTED_SIGN * sign(z))
    feats = panel[0].assign(trade_date=pd.to_datetime(panel[0]["trade_date"]))
    joined = result.predictions.merge(feats[["symbol", "trade_date", PLANTED_FEATURE]], on=["symbol", "trade_date"])
    corr = joined["score"].corr(joined[PLANTED_FEATURE], method="spearman")
    assert PLANTED_SIGN * corr > 0.3
    # and the numeric feature the model leans on most carries the planted z-score (the synthetic COT columns
    # are all built from it: index, percentile, net share, divergence)
    booster = result.models[-1].booster
    gains = pd.Series(booster.feature_importance("gain"), booster.feature_name()).drop(["symbol", "asset_class"])
    assert gains.idxmax() in Z_FAMILY


def test_shuffled_labels_give_chance_balanced_accuracy(panel):
    features, labels = panel
    rng = np.random.default_rng(0)
    shuffled = labels.copy()
    columns = [c for c in labels.columns if c.startswith("fwd_ret_")]
    shuffled[columns] = labels[columns].to_numpy()[rng.permutation(len(labels))]
    result = walk_forward(features, shuffled, CONFIG)
    pooled = next(m for m in evaluate(result.predictions, features, shuffled).metrics if m.symbol == POOLED)
    # permuted labels are independent across rows: no overlap adjustment; n ~ 18,000 gives a tolerance of ~0.015
    assert abs(pooled.balanced_accuracy - 0.5) < _tolerance(pooled.n_directional)
    assert abs(pooled.ic_t) < 3 * np.sqrt(CONFIG.horizon)  # the overlap-adjusted t assumes overlap that is gone


def test_pure_noise_gives_chance_balanced_accuracy():
    features, labels = make_synthetic_panel(effect=0.0, seed=13)
    result = walk_forward(features, labels, CONFIG)
    report = evaluate(result.predictions, features, labels)
    pooled = next(m for m in report.metrics if m.symbol == POOLED)
    # overlapping 5-day labels: n_eff = n / 5, tolerance ~0.035
    assert abs(pooled.balanced_accuracy - 0.5) < _tolerance(pooled.n_directional, CONFIG.horizon)
    assert abs(pooled.ic_t) < 3.0
    assert not report.leak_audit.flagged


def test_a_feature_equal_to_the_future_return_is_flagged():
    # 8 symbols x 8 years: ~6,500 directional out-of-sample rows, ~1,300 effective at D+5: enough to be audited
    features, labels = make_synthetic_panel(n_symbols=8, years=8.0, seed=17)
    leaky = features.merge(labels[["symbol", "trade_date", "fwd_ret_5d"]], on=["symbol", "trade_date"])
    leaky = leaky.rename(columns={"fwd_ret_5d": "leak"})
    # a leak keeps improving the validation loss, so cap the trees: it is flagged long before
    lgbm = CONFIG.lgbm.model_copy(update={"num_boost_round": 40})
    config = CONFIG.model_copy(update={"features": (*default_features(features), "leak"), "lgbm": lgbm})
    result = walk_forward(leaky, labels, config)
    report = evaluate(result.predictions, leaky, labels)
    assert report.leak_audit.flagged
    assert report.leak_audit.max_balanced_accuracy > 0.9
    assert any(o.startswith("h5/ALL") for o in report.leak_audit.offenders)


def test_reference_rows_curves_and_plots(panel, planted):
    result, report = planted
    assert {r.strategy for r in report.reference} == {"tsmom_12m"}
    assert {r.symbol for r in report.reference} == {*panel[0]["symbol"].unique(), POOLED}
    assert report.reliability and all(0 <= b.observed <= 1 for b in report.reliability)
    curves = cumulative_returns(result.predictions, *panel)
    assert set(curves["strategy"]) == {"signal", "momentum", "long_only", "tsmom_12m"}
    pngs = evaluation_pngs(report, curves)
    assert set(pngs) == {"reliability.png", "ic_by_horizon.png", "cumulative_returns.png"}
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000 for png in pngs.values())


def test_evaluation_uses_only_predicted_dates(panel, planted):
    result, report = planted
    pooled = next(m for m in report.metrics if m.symbol == POOLED)
    assert pooled.start == str(result.predictions["trade_date"].min().date())
    assert date.fromisoformat(pooled.start) > date(2018, 1, 1)  # three years of history before the first model


def test_labels_computed_once_for_the_whole_panel_give_the_same_evaluation(panel, planted):
    """The scorecard evaluates many models of one panel with the labels of each horizon computed once for every
    symbol: the same metrics, bit for bit, as computing them for the predicted symbols only."""
    from assets.models.evaluation import cumulative_returns, labelled_rows

    features, labels = panel
    predictions = planted[0].predictions
    some = predictions[predictions["symbol"].isin(sorted(predictions["symbol"].unique())[:4])]
    config = EvaluationConfig()
    once = {h: labelled_rows(features, labels, h, config) for h in some["horizon"].unique()}
    assert set(once[5]["symbol"]) > set(some["symbol"])  # computed for more symbols than are evaluated
    shared = evaluate(some, features, labels, config, labelled=once).metrics_frame()
    alone = evaluate(some, features, labels, config).metrics_frame()
    pd.testing.assert_frame_equal(shared, alone, check_exact=True)
    # the evaluation asset shares them with the cumulative-return curves of its plots too
    curves = cumulative_returns(some, features, labels, config, labelled=once)
    pd.testing.assert_frame_equal(curves, cumulative_returns(some, features, labels, config), check_exact=True)


def test_spearman_equals_scipy_bit_for_bit():
    """The IC's Spearman correlation skips scipy's input checks, not its arithmetic: the same value to the bit,
    ties included (rounded values tie often)."""
    from scipy.stats import spearmanr

    from assets.models.evaluation import _spearman

    rng = np.random.default_rng(3)
    for n in (3, 10, 257, 5000):
        x, y = rng.normal(size=n), rng.normal(size=n)
        for a, b in ((x, y), (np.round(x, 1), y), (np.round(x), np.round(y, 1))):
            if np.ptp(a) and np.ptp(b):
                assert _spearman(a, b) == float(spearmanr(a, b).statistic)


def test_baselines_computed_once_per_symbol_span_give_the_same_evaluation(panel, planted):
    """The scorecard evaluates many predictions of one panel with one BaselineCache: the baselines of a symbol's
    span are computed once and reused by every prediction over that span, and every evaluation is the same, bit for
    bit, as computed alone; a different span (or symbol set) is computed afresh."""
    from assets.models.evaluation import BaselineCache, evaluation_frame, labelled_rows

    features, labels = panel
    predictions = planted[0].predictions
    first = predictions["symbol"].min()
    opposite = predictions.assign(score=-predictions["score"])  # another model, the same symbols and spans
    own_start = predictions.loc[predictions["symbol"] == first, "trade_date"].min()
    later = predictions[(predictions["symbol"] != first) | (predictions["trade_date"] > own_start)]
    some = predictions[predictions["symbol"].isin(sorted(predictions["symbol"].unique())[:3])]
    config = EvaluationConfig()
    once = {h: labelled_rows(features, labels, h, config) for h in predictions["horizon"].unique()}
    cache = BaselineCache()
    n_symbols = predictions["symbol"].nunique()
    for i, preds in enumerate((predictions, opposite, later, some)):
        shared = evaluate(preds, features, labels, config, labelled=once, baselines=cache)
        alone = evaluate(preds, features, labels, config)
        pd.testing.assert_frame_equal(shared.metrics_frame(), alone.metrics_frame(), check_exact=True)
        assert shared.reference == alone.reference
        frame = evaluation_frame(preds, features, labels, 5, config, once[5], cache)
        pd.testing.assert_frame_equal(frame, evaluation_frame(preds, features, labels, 5, config), check_exact=True)
        if i == 0:
            assert len(cache.entries) == n_symbols and cache.hits == n_symbols  # the frame reused evaluate's
    assert len(cache.entries) == n_symbols + 1  # `later` changed one symbol's span: computed afresh, once
    # after the first computation, every evaluation and frame reused every symbol's baselines but that one
    assert cache.hits == n_symbols + 2 * n_symbols + (2 * n_symbols - 1) + 2 * 3
