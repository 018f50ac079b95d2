"""Decisions against the base rate (FLAT without edge, thresholds from the past only) and the one sizing/risk path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assets.signals.build import SignalConfig, size_and_risk, unit_var
from assets.signals.decision import (
    NEVER,
    DecisionConfig,
    chosen_variant,
    class_counts,
    class_priors,
    decide,
    decision_variants,
    edges,
    learn_thresholds,
    shift_to_prior,
    shrunk_priors,
)
from assets.signals.risk import historical_var, parametric_var
from assets.signals.sizing import position_size


def test_class_priors_use_only_labels_known_by_the_cutoff():
    labs = pd.DataFrame(
        {
            "symbol": ["A"] * 6,
            "label": pd.array([1, 1, -1, 0, -1, -1], dtype="Int8"),
            "label_end": pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07", "2021-01-04", None]),
        }
    )
    priors = class_priors(labs, pd.to_datetime(["2020-06-30", "2021-06-30"])).set_index("cutoff")
    first = priors.loc[pd.Timestamp("2020-06-30")]
    assert (first["prior_up"], first["prior_down"], first["n"]) == (0.5, 0.25, 4)
    second = priors.loc[pd.Timestamp("2021-06-30")]
    assert (second["prior_up"], second["prior_down"], second["n"]) == (0.4, 0.4, 5)


def test_a_probability_at_the_base_rate_is_no_edge():
    frame = pd.DataFrame(
        {"p_up": [0.55, 0.60, 0.30], "p_down": [0.30, 0.25, 0.45], "prior_up": 0.55, "prior_down": 0.3}
    )
    out = edges(frame)
    assert out["side"].tolist() == [1.0, 1.0, -1.0]
    assert out["edge"].to_numpy() == pytest.approx([0.0, 0.05, 0.15])


def _past(n: int, edge_value: float, gain: float, symbol: str = "A", alternate: bool = False) -> pd.DataFrame:
    """n consecutive days of one symbol's past decisions; `alternate` flips the side every day."""
    side = np.where(np.arange(n) % 2 == 1, -1.0, 1.0) if alternate else np.ones(n)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "trade_date": pd.bdate_range("2018-01-01", periods=n),
            "cutoff": pd.Timestamp("2019-12-31"),
            "edge": edge_value,
            "side": side,
            "fwd_ret": side * gain,  # the side earns `gain` before costs
            "label_end": pd.Timestamp("2019-06-30"),
        }
    )


def test_thresholds_are_learned_from_the_past_and_never_trade_without_an_edge():
    config = DecisionConfig(min_rows=100, cost_bps=5.0, thresholds=(0.0, 0.02, 0.05))
    # small edges lost money after costs, large ones earned: the threshold moves above the small ones
    past = pd.concat([_past(300, 0.01, -0.001, "A"), _past(300, 0.04, 0.004, "B")], ignore_index=True)
    future = pd.DataFrame(
        {"symbol": ["A"], "trade_date": [pd.Timestamp("2020-07-01")], "cutoff": [pd.Timestamp("2020-06-30")],
         "edge": [0.9], "side": [1.0], "fwd_ret": [-1.0], "label_end": [pd.Timestamp("2020-07-10")]}
    )  # fmt: skip
    learned = learn_thresholds(pd.concat([past, future], ignore_index=True), 1, config).set_index("cutoff")
    assert learned.loc[pd.Timestamp("2019-12-31"), "threshold"] == 0.02
    # the 2020 cutoff sees the same past: a future loss it could not know does not move it
    assert learned.loc[pd.Timestamp("2020-06-30"), "threshold"] == 0.02
    # nothing ever earned after costs (a new position every day, 5 bp gross against 10 bp of turnover): never trade
    losing = learn_thresholds(_past(300, 0.04, 0.0005, alternate=True), 1, config)
    assert losing["threshold"].tolist() == [NEVER]
    # too little history: never trade
    assert learn_thresholds(_past(50, 0.04, 0.01), 1, config)["threshold"].tolist() == [NEVER]


def test_costs_are_paid_on_turnover_as_the_evaluation_trades():
    """A position kept from one day's decision to the next pays no new cost: 5 bp a day held in one direction
    earns after 5 bp costs, although each day's gain is less than a round trip (what the old rule charged)."""
    config = DecisionConfig(min_rows=100, cost_bps=5.0, thresholds=(0.0,))
    held = learn_thresholds(_past(300, 0.04, 0.0005), 1, config)
    assert held["threshold"].tolist() == [0.0]
    assert held["past_net_return"].iloc[0] == pytest.approx(300 * 0.0005 - 5e-4)  # one entry, no exit yet
    # at D+5 a row's tranche replaces the same symbol's tranche 5 rows earlier: held sides pay once per tranche
    # (the position builds up over the first 5 days), the weight (vol-targeted size) scales gains and costs alike
    held5 = learn_thresholds(_past(300, 0.04, 0.0005).assign(weight=2.0), 5, config)
    assert held5["past_net_return"].iloc[0] == pytest.approx(2.0 * (300 * 0.0005 - 5 * 5e-4))
    # alternating daily sides: every tranche reverses the one it replaces and pays twice, more than it earns
    flipping = learn_thresholds(_past(300, 0.04, 0.0005, alternate=True).assign(weight=2.0), 5, config)
    assert flipping["threshold"].tolist() == [NEVER] and flipping["past_net_return"].iloc[0] == 0.0


def test_a_pooled_probability_is_moved_to_the_instruments_base_rate():
    # the pooled model says 40% UP, 40% DOWN where 40%/40% is the pooled base rate: no information; moved to an
    # instrument that rose on 55% of past days it says 55% UP, the instrument's base rate, which is no edge either
    frame = pd.DataFrame(
        {"p_up": [0.40, 0.48], "p_flat": [0.20, 0.20], "p_down": [0.40, 0.32], "prior_up": 0.55, "prior_down": 0.25,
         "model_prior_up": 0.40, "model_prior_down": 0.40}
    )  # fmt: skip
    shifted = shift_to_prior(frame)
    assert shifted.sum(axis=1).to_numpy() == pytest.approx([1.0, 1.0])
    assert shifted.loc[0, ["p_up", "p_down"]].tolist() == pytest.approx([0.55, 0.25])
    out = edges(frame)
    assert out.loc[0, "edge"] == pytest.approx(0.0, abs=1e-12)
    # more UP than the pool's base rate is more UP than the instrument's too
    assert out.loc[1, "side"] == 1.0 and out.loc[1, "edge"] > 0.05
    # equal priors leave the probabilities as they are
    same = frame.assign(model_prior_up=0.55, model_prior_down=0.25)
    pd.testing.assert_frame_equal(shift_to_prior(same), frame[["p_down", "p_flat", "p_up"]])


def test_a_side_against_the_likelier_move_is_not_traded():
    # DOWN beats its base rate (0.36 > 0.33) but UP is still the likelier move (0.44): no edge to trade
    frame = pd.DataFrame({"p_up": [0.44, 0.30], "p_down": [0.36, 0.40], "prior_up": 0.47, "prior_down": 0.33})
    out = edges(frame)
    assert out["side"].tolist() == [-1.0, -1.0]
    assert out.loc[0, "edge"] <= 0.0 and out.loc[1, "edge"] == pytest.approx(0.07)
    decided = decide(out.assign(cutoff=pd.Timestamp("2020-06-30")), pd.DataFrame(
        {"cutoff": [pd.Timestamp("2020-06-30")], "threshold": [0.0]}))  # fmt: skip
    assert decided["direction"].tolist() == ["FLAT", "DOWN"]


def test_pooled_class_priors_are_one_share_over_every_symbol():
    labs = pd.DataFrame(
        {"symbol": ["A", "A", "B", "B"], "label": pd.array([1, 1, -1, 0], dtype="Int8"),
         "label_end": pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-02", "2020-01-03"])}
    )  # fmt: skip
    pooled = class_priors(labs, pd.to_datetime(["2020-06-30"]), "pooled").set_index("symbol")
    assert pooled.loc["A", ["prior_up", "prior_down", "n"]].tolist() == [0.5, 0.25, 4]
    assert pooled.loc["B", ["prior_up", "prior_down", "n"]].tolist() == [0.5, 0.25, 4]


def test_decide_gives_flat_below_the_threshold():
    frame = pd.DataFrame(
        {"cutoff": pd.Timestamp("2019-12-31"), "edge": [0.01, 0.03, 0.03, np.nan], "side": [1.0, 1.0, -1.0, 0.0]}
    )
    thresholds = pd.DataFrame({"cutoff": [pd.Timestamp("2019-12-31")], "threshold": [0.02]})
    out = decide(frame, thresholds)
    assert out["direction"].tolist() == ["FLAT", "UP", "DOWN", "FLAT"]
    assert out["sign"].tolist() == [0.0, 1.0, -1.0, 0.0]


def test_shipped_size_and_var_are_those_of_sizing_and_risk():
    rng = np.random.default_rng(3)
    days = pd.bdate_range("2020-01-01", periods=300)
    features = pd.DataFrame({"symbol": "A", "trade_date": days, "ret_1d": rng.normal(0.0003, 0.01, len(days))})
    config = SignalConfig()
    var = unit_var(features, config)
    frame = pd.DataFrame(
        {
            "symbol": "A",
            "trade_date": days[-4:],
            "direction": ["UP", "DOWN", "FLAT", "UP"],
            "p_up": [0.5, 0.2, 0.3, 0.36],
            "p_down": [0.2, 0.55, 0.3, 0.34],
            "up_move": [0.02, 0.021, 0.02, 0.02],
            "down_move": [0.018, 0.02, 0.02, 0.025],
            "regime": ["BULL", "CRISIS", "BULL", "SIDEWAYS"],
            "drawdown_multiplier": [1.0, 0.5, 1.0, 1.0],
        }
    )
    out = size_and_risk(frame, var, config)
    for i, row in frame.iterrows():
        window = features["ret_1d"].to_numpy()[len(days) - 4 + i - config.var_window + 1 : len(days) - 4 + i + 1]
        if row["direction"] == "FLAT":
            assert out.loc[i, "size"] == 0.0 and out.loc[i, "var_95"] == 0.0
            continue
        up = row["direction"] == "UP"
        p = (row["p_up"] if up else row["p_down"]) / (row["p_up"] + row["p_down"])
        win, loss = (row["up_move"], row["down_move"]) if up else (row["down_move"], row["up_move"])
        expected = position_size(p, win, loss, row["regime"], row["drawdown_multiplier"], config.sizing)
        size = expected.size if up else -expected.size
        assert out.loc[i, "size"] == pytest.approx(size, abs=1e-15)
        assert out.loc[i, "kelly_fraction"] == pytest.approx(expected.kelly, abs=1e-15)
        if size == 0:
            continue
        for c, name in ((0.95, "var_95"), (0.99, "var_99")):
            assert out.loc[i, name] == pytest.approx(historical_var(window, c, position=size), rel=1e-12)
            parametric = parametric_var(window, c, position=size)
            assert out.loc[i, f"{name}_parametric"] == pytest.approx(parametric, rel=1e-12)
    assert (out.loc[[0, 1], "size"].abs() > 0).all()  # the example has real bets on both sides


def test_an_instruments_base_rate_is_shrunk_toward_the_pooled_rate_by_the_pseudo_count():
    # A rose on 3 of 4 known days, B on 1 of 4: pooled 4 of 8 UP, 2 of 8 DOWN
    labs = pd.DataFrame(
        {"symbol": ["A"] * 4 + ["B"] * 4, "label": pd.array([1, 1, 1, -1, 1, -1, 0, 0], dtype="Int8"),
         "label_end": pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07"] * 2)}
    )  # fmt: skip
    counts = class_counts(labs, pd.to_datetime(["2020-06-30"]))
    raw = shrunk_priors(counts, 0.0).set_index("symbol")
    assert raw.loc["A", ["prior_up", "prior_down"]].tolist() == [0.75, 0.25]
    half = shrunk_priors(counts, 4.0).set_index("symbol")  # as many pseudo-labels as real ones: halfway
    assert half.loc["A", ["prior_up", "prior_down"]].tolist() == pytest.approx([(3 + 2) / 8, (1 + 1) / 8])
    assert half.loc["B", ["prior_up", "prior_down"]].tolist() == pytest.approx([(1 + 2) / 8, (1 + 1) / 8])
    pooled = shrunk_priors(counts, 1e9).set_index("symbol")
    assert pooled.loc["A", ["prior_up", "prior_down"]].tolist() == pytest.approx([0.5, 0.25])
    # the pseudo-count 0 is the instrument's own share, as class_priors always gave
    pd.testing.assert_frame_equal(
        class_priors(labs, pd.to_datetime(["2020-06-30"])), shrunk_priors(counts, 0.0), check_dtype=False
    )


def _world(n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two symbols scored by a pooled model: A usually rose (70% of past labels UP), B usually fell (30% UP).

    The pool is 50/50. The model says UP 60% on A and UP 52% on B (DOWN 32% and 40%). Every forward return is
    +0.1%: the trades the pooled base rate allows (both UP) earn more than those A's and B's own rates allow (A).
    """
    days = pd.bdate_range("2018-01-01", periods=n)
    frames, labels = [], []
    for symbol, up_share, p_up in (("A", 0.7, 0.60), ("B", 0.3, 0.52)):
        label = np.where(np.arange(n) % 10 < up_share * 10, 1, -1)
        frames.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "trade_date": days,
                    "cutoff": pd.Timestamp("2019-12-31"),
                    "p_down": 0.92 - p_up,
                    "p_flat": 0.08,
                    "p_up": p_up,
                    "fwd_ret": 0.001,
                    "label_end": days,
                }
            )
        )
        labels.append(pd.DataFrame({"symbol": symbol, "label": label, "label_end": days}))
    return pd.concat(frames, ignore_index=True), pd.concat(labels, ignore_index=True)


def test_the_pseudo_count_and_threshold_are_chosen_together_from_past_net_returns():
    scores, labels = _world()
    config = DecisionConfig(min_rows=100, cost_bps=5.0, thresholds=(0.0, 0.05), pseudo_counts=(0.0, 1e6))
    variants = decision_variants(scores, class_counts(labels, scores["cutoff"].unique()), config)
    a, b = scores["symbol"] == "A", scores["symbol"] == "B"
    # k = 0: against their own rates A has an UP edge (0.755 - 0.70); on B, DOWN stays the likelier move: none
    raw = variants[0.0]
    assert raw.loc[a, "edge"].to_numpy() == pytest.approx(0.84 / 1.112 - 0.7) and (raw.loc[b, "edge"] <= 0).all()
    # k = 1e6: against the pool's 50% both are UP edges (0.10 and 0.02)
    pooled = variants[1e6]
    assert pooled["side"].eq(1.0).all()
    assert pooled.loc[a, "edge"].to_numpy() == pytest.approx(0.10, abs=1e-3)  # 1e6 pseudo-labels beside 400
    assert pooled.loc[b, "edge"].to_numpy() == pytest.approx(0.02, abs=1e-3)
    learned = learn_thresholds(scores, 1, config, variants)
    # both UP (the pooled prior) earned more than A alone (the raw priors): the pooled prior and threshold 0 win
    assert learned[["pseudo_count", "threshold"]].iloc[0].tolist() == [1e6, 0.0]
    chosen = chosen_variant(scores, variants, learned)
    pd.testing.assert_frame_equal(chosen.drop(columns="pseudo_count"), pooled, check_dtype=False)
    decided = decide(scores.join(chosen[["side", "edge"]]), learned)
    assert decided["direction"].eq("UP").all()
    # where B's own falling rate persisted (B lost), the same rule keeps the instruments' own rates and trades A
    persisted = scores.assign(fwd_ret=np.where(a, 0.001, -0.001))
    again = learn_thresholds(persisted, 1, config, variants)
    assert again[["pseudo_count", "threshold"]].iloc[0].tolist() == [0.0, 0.0]
    chosen = chosen_variant(persisted, variants, again)
    decided = decide(persisted.join(chosen[["side", "edge"]]), again)
    assert decided.loc[a, "direction"].eq("UP").all() and decided.loc[b, "direction"].eq("FLAT").all()
