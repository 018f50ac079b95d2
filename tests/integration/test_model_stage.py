"""The model stage on a ten-year simulated lake: point in time, deterministic, honest, and finding what is there.

One lake (every source, 2016-2025) is built per module; the models use a reduced but faithful configuration
(horizons D+1 and D+5, yearly cutoffs) so the whole module stays within a few minutes.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from assets.models.data import check_point_in_time, load_features, mart_uri
from assets.models.evaluation import evaluate, labelled_rows
from assets.models.labels import horizon_labels
from assets.models.leak import simulated_leak_audit
from assets.models.pipeline import (
    ModelInputs,
    ModelStageConfig,
    load_inputs,
    predictions_frame,
    run_regimes,
    run_walk_forward,
)
from assets.models.planted import measure_planted_effects
from assets.models.walk_forward import walk_forward
from assets.signals.build import SignalConfig, build_signals
from assets.signals.build_history import signals_history
from assets.signals.contract import SignalRow
from assets.signals.ledger import build_ledger
from assets.signals.risk import historical_var, parametric_var
from assets.signals.scorecard import MODELS, ORACLE_SET, scorecard
from assets.signals.sizing import position_size
from assets.signals.stage import run_signals
from resources.errors import LeakageError
from resources.lake.delta import overwrite_table, read_table
from resources.lake.snapshot import snapshot_lake
from resources.lake.storage import LakeStorage
from resources.marts_build import ingest_all, publish_gold, run_dbt
from resources.settings import Settings, get_settings
from resources.simulated.oracle import ORACLE_SYMBOLS, oracle_scores

pytestmark = pytest.mark.slow
START, END = date(2016, 1, 1), date(2025, 12, 31)
# The shipped walk-forward (effect features, pooled, calibrated) with yearly instead of half-yearly cutoffs
CONFIG = ModelStageConfig(
    horizons=(1, 5), walk_forward=ModelStageConfig().walk_forward.model_copy(update={"retrain_months": 12}), workers=2
)


@dataclass
class Stage:
    settings: Settings
    storage: LakeStorage
    inputs: ModelInputs
    predictions: pd.DataFrame
    regimes: pd.DataFrame
    signals: pd.DataFrame


def _environment(root: Path, name: str) -> dict[str, str]:
    return {
        "NEXUS_LAKE_URI": str(root / name / "lake"),
        "NEXUS_DUCKDB_PATH": str(root / name / "warehouse.duckdb"),
        "NEXUS_PUBLISHED_DUCKDB_PATH": str(root / name / "published.duckdb"),
        "NEXUS_START_DATE": START.isoformat(),
        "NEXUS_END_DATE": END.isoformat(),
    }


def _build_models(storage: LakeStorage, until: date | None = None) -> Stage:
    inputs = load_inputs(storage, CONFIG, until=until)
    regimes = run_regimes(storage, inputs.features, CONFIG).frame
    predictions = predictions_frame(run_walk_forward(storage, inputs, CONFIG))
    signals, _, _ = run_signals(inputs, predictions, regimes, SignalConfig(), run_id="test")
    return Stage(get_settings(), storage, inputs, predictions, regimes, signals)


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    root = tmp_path_factory.mktemp("model_stage")
    saved = dict(os.environ)
    os.environ.update(_environment(root, "full"))
    os.environ.pop("NEXUS_SOURCE_MODE", None)
    try:
        settings = get_settings()
        storage = LakeStorage.from_settings(settings)
        ingest_all(storage, settings, start=START, end=END)
        run_dbt(["run"], settings, target_path=root / "full" / "target")
        publish_gold(storage, settings)
        built = _build_models(storage)
        built.settings = settings
        yield built
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_planted_effects_are_recovered_from_the_lake(stage):
    for effect in measure_planted_effects(stage.inputs.features, stage.inputs.labels):
        assert effect.recovered, effect
        assert np.sign(effect.measured) == np.sign(effect.expected)


def test_out_of_sample_evidence_is_honest(stage):
    report = evaluate(stage.predictions, stage.inputs.features, stage.inputs.labels, CONFIG.evaluation)
    metrics = report.metrics_frame()
    pooled = metrics[metrics["symbol"] == "ALL"].set_index("horizon")
    assert not report.leak_audit.flagged
    assert metrics["balanced_accuracy"].max() < 0.60  # anything higher is a leak to audit, not a discovery
    assert (pooled["balanced_accuracy"] > 0.5).all()  # the planted effects give a small, real edge
    assert (pooled["ic"] > 0).all()


def test_the_leak_audit_holds_a_model_to_what_the_simulated_world_makes_knowable(stage):
    """On a simulated lake the audit compares each covered instrument with the world's own generating process: a
    model given tomorrow's label as a feature fails it; the shipped model passes, and so does a model that knows
    the generating process itself (the oracle's expected returns as its score: the true effects, all of them)."""
    h, seed, features, labels = 1, stage.settings.seed, stage.inputs.features, stage.inputs.labels
    labelled = {h: labelled_rows(features, labels, h, CONFIG.evaluation)}

    def audit(predictions: pd.DataFrame):
        report = evaluate(predictions, features, labels, CONFIG.evaluation, labelled)
        return simulated_leak_audit(report.metrics, predictions, features, labels, seed, CONFIG.evaluation, labelled)

    shipped = stage.predictions[stage.predictions["horizon"] == h]
    assert not audit(shipped).flagged

    oracle = oracle_scores(seed, (h,)).assign(trade_date=lambda f: pd.to_datetime(f["trade_date"]))
    knows_the_world = shipped[["symbol", "trade_date", "horizon"]].merge(oracle, on=["symbol", "trade_date", "horizon"])
    knows_the_world = knows_the_world.rename(columns={"expected": "score"}).assign(
        p_down=np.nan, p_flat=np.nan, p_up=np.nan, pred_class=lambda f: np.sign(f["score"])
    )
    assert not audit(knows_the_world).flagged

    covered = features[features["symbol"].isin(ORACLE_SYMBOLS)].reset_index(drop=True)
    leaked = covered.assign(leaked_label=horizon_labels(covered, labels, h)["label"].astype("float64").to_numpy())
    config = CONFIG.walk_forward.for_horizon(h)
    config = config.model_copy(update={"features": (*config.features, "leaked_label")})
    result = audit(walk_forward(leaked, labels, config).predictions)
    assert result.flagged
    assert any("beats the generating process" in o for o in result.offenders), result.offenders


def test_shuffled_labels_find_nothing(stage):
    rng = np.random.default_rng(11)
    labels = stage.inputs.labels.copy()
    labels["fwd_ret_5d"] = rng.permutation(labels["fwd_ret_5d"].to_numpy())
    config = CONFIG.walk_forward.for_horizon(5)
    result = walk_forward(stage.inputs.features, labels, config)
    report = evaluate(result.predictions, stage.inputs.features, labels, CONFIG.evaluation)
    pooled = report.metrics_frame().query("symbol == 'ALL'").iloc[0]
    tolerance = 4 * 0.5 / np.sqrt(pooled["n_directional"])  # four standard errors of independent labels
    assert abs(pooled["balanced_accuracy"] - 0.5) < tolerance, pooled


def test_signals_satisfy_their_contract(stage):
    latest = stage.signals[stage.signals["signal_date"] >= date(2025, 6, 1)]
    assert len(latest) > 100
    for record in latest.astype(object).where(latest.notna(), None).to_dict("records"):
        SignalRow.model_validate(record)
    probs = latest[["prob_up", "prob_flat", "prob_down"]].sum(axis=1)
    assert np.allclose(probs, 1.0, atol=1e-6)
    assert (latest["size"].abs() <= 0.25).all() and (latest["move_low"] <= latest["move_high"]).all()
    assert set(latest["horizon"]) == {1, 5}


def test_a_signal_states_the_probability_its_decision_used(stage):
    """prob_* and probability are the probabilities the edge was taken on (moved to the instrument's class prior),
    not the model's own while the direction comes from the shifted ones; the model's are kept as model_prob_*."""
    signals = stage.signals
    traded = signals[signals["direction"] != "FLAT"]
    assert len(traded) > 50
    up = traded["direction"] == "UP"
    stated = np.where(up, traded["prob_up"], traded["prob_down"])
    assert np.allclose(traded["probability"], stated, rtol=0, atol=1e-12)
    # the edge the decision cleared is the stated probability minus the stated base rate, on every traded row
    assert np.allclose(traded["edge"], stated - traded["base_rate"], rtol=0, atol=1e-12)
    assert (traded["edge"] > traded["edge_threshold"]).all()
    model = signals[["model_prob_up", "model_prob_flat", "model_prob_down"]]
    assert np.allclose(model.sum(axis=1), 1.0, atol=1e-6)


def test_same_inputs_and_seed_give_identical_models_and_signals(stage, tmp_path):
    # a second lake with the same silver data but an empty fit cache: everything is retrained from scratch
    copy = LakeStorage(root_uri=str(tmp_path / "copy"))
    for name in ("fct_features_daily", "fct_labels_daily"):
        overwrite_table(copy, mart_uri(copy, name), read_table(stage.storage, mart_uri(stage.storage, name)))
    again = _build_models(copy)
    assert again.predictions["model_version"].tolist() == stage.predictions["model_version"].tolist()
    pd.testing.assert_frame_equal(again.predictions, stage.predictions)
    pd.testing.assert_frame_equal(again.signals, stage.signals)


def test_the_signals_history_is_built_once_and_reused_only_for_the_same_key_and_inputs(stage, tmp_path):
    """The scorecard's build is read back by the signals asset: the same frames (the reader's run id), and a
    different key or inputs cut by a window build again instead."""
    storage = LakeStorage(root_uri=str(tmp_path / "lake"))
    args = (stage.inputs, stage.predictions, stage.regimes, SignalConfig())
    built = signals_history(storage, "key-1", *args, run_id="scorecard")
    assert not built.reused
    pd.testing.assert_frame_equal(built.signals, stage.signals.assign(run_id="scorecard"), check_exact=True)
    again = signals_history(storage, "key-1", *args, run_id="signals")
    assert again.reused
    pd.testing.assert_frame_equal(again.signals, stage.signals.assign(run_id="signals"), check_exact=True)
    pd.testing.assert_frame_equal(again.weights, built.weights, check_exact=True)
    pd.testing.assert_frame_equal(again.thresholds, built.thresholds, check_exact=True)
    # a reader of one window gets that window's signals, cut from the entry (reused) as from a build (not reused)
    days = pd.to_datetime(stage.signals["signal_date"])
    since = sorted(days.unique())[-7].date()
    expected = stage.signals[days >= pd.Timestamp(since)].reset_index(drop=True)
    window = signals_history(storage, "key-1", *args, run_id="signals", since=since)
    assert window.reused and pd.Timestamp(window.signals["signal_date"].min()) == pd.Timestamp(since)
    pd.testing.assert_frame_equal(window.signals, expected.assign(run_id="signals"), check_exact=True)
    fresh = signals_history(LakeStorage(root_uri=str(tmp_path / "other")), "key-1", *args, run_id="s", since=since)
    assert not fresh.reused
    pd.testing.assert_frame_equal(fresh.signals, expected.assign(run_id="s"), check_exact=True)
    # a window that cuts rows misses even under the same key (one symbol: a small build)
    one = stage.inputs.features["symbol"] == "SPX"
    cut = ModelInputs(stage.inputs.features[one], stage.inputs.labels)
    preds = stage.predictions[stage.predictions["symbol"] == "SPX"]
    small = signals_history(storage, "key-1", cut, preds, stage.regimes, SignalConfig(), run_id="cut")
    assert not small.reused and set(small.signals["symbol"]) == {"SPX"}
    assert signals_history(storage, "key-1", cut, preds, stage.regimes, SignalConfig(), run_id="cut").reused
    # another key (a table, the code or the configuration changed) misses
    assert not signals_history(storage, "key-2", cut, preds, stage.regimes, SignalConfig(), run_id="x").reused


def test_signals_are_unchanged_when_data_after_t_is_cut(stage, tmp_path):
    """Cut the lake at several random dates T, rebuild marts, models and signals: every signal <= T is identical."""
    rng = np.random.default_rng(2025)
    days = pd.bdate_range("2023-03-01", "2025-10-31")
    for i, cut in enumerate(sorted(rng.choice(len(days), size=3, replace=False))):
        as_of = days[cut].date()
        env = _environment(tmp_path, f"cut{i}")
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            settings = get_settings()
            storage = LakeStorage.from_settings(settings)
            snapshot_lake(stage.storage, storage, as_of, settings.decision_time_utc)
            run_dbt(["run"], settings, target_path=tmp_path / f"cut{i}" / "target")
            publish_gold(storage, settings)
            rebuilt = _build_models(storage)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        full = stage.signals[stage.signals["signal_date"] <= as_of].drop(columns="run_id").reset_index(drop=True)
        cut_signals = rebuilt.signals.drop(columns="run_id").reset_index(drop=True)
        assert rebuilt.signals["signal_date"].max() == full["signal_date"].max()
        pd.testing.assert_frame_equal(cut_signals, full, check_exact=True, obj=f"signals cut at {as_of}")
        # the paper-trading ledger too: every row dated <= T is identical
        for name, cut_part, full_part in zip(
            ("positions", "portfolio"),
            build_ledger(rebuilt.signals, rebuilt.inputs.features),
            build_ledger(stage.signals, stage.inputs.features),
            strict=True,
        ):
            expected = full_part[full_part["trade_date"] <= as_of].reset_index(drop=True)
            assert cut_part["trade_date"].max() == as_of or cut_part["trade_date"].max() == expected["trade_date"].max()
            pd.testing.assert_frame_equal(cut_part, expected, check_exact=True, obj=f"ledger {name} cut at {as_of}")


def test_a_feature_known_after_its_decision_time_is_refused(stage, tmp_path):
    features = read_table(stage.storage, mart_uri(stage.storage, "fct_features_daily")).to_pandas()
    late = features.copy()
    late.loc[late.index[1234], "max_available_at_used"] = late.loc[late.index[1234], "decision_at"] + pd.Timedelta(
        minutes=1
    )
    with pytest.raises(LeakageError, match="after their decision time"):
        check_point_in_time(late, source="fct_features_daily")
    tampered = LakeStorage(root_uri=str(tmp_path / "tampered"))
    overwrite_table(
        tampered, mart_uri(tampered, "fct_features_daily"), pa.Table.from_pandas(late, preserve_index=False)
    )
    with pytest.raises(LeakageError):
        load_features(tampered)


def test_shipped_sizes_and_var_are_those_of_sizing_and_risk(stage):
    """The shipped signal's size and VaR, recomputed by hand from the lake with sizing.py and risk.py."""
    config = SignalConfig()  # what the stage fixture built the signals with
    features = stage.inputs.features.assign(trade_date=lambda f: pd.to_datetime(f["trade_date"]))
    traded = stage.signals[(stage.signals["direction"] != "FLAT") & (stage.signals["size"] != 0)]
    assert len(traded) > 50 and (stage.signals["direction"] == "FLAT").any()
    multipliers = {state.value: m for state, m in config.drawdown.multipliers.items()}
    for row in traded.sample(12, random_state=5).itertuples():
        rows = features[features["symbol"] == row.symbol].sort_values("trade_date").reset_index(drop=True)
        t = int(rows.index[rows["trade_date"] == pd.Timestamp(row.signal_date)][0])
        logp = np.log(rows["close"].to_numpy(float))
        h = row.horizon
        moves = (logp[h:] - logp[:-h])[max(0, t - h - config.var_window + 1) : t - h + 1]  # moves ending <= D
        up_move, down_move = moves[moves > 0].mean(), -moves[moves < 0].mean()
        up = row.direction == "UP"
        p_win = (row.prob_up if up else row.prob_down) / (row.prob_up + row.prob_down)
        win, loss = (up_move, down_move) if up else (down_move, up_move)
        expected = position_size(p_win, win, loss, row.regime, multipliers[row.drawdown_state], config.sizing)
        assert abs(row.size) == pytest.approx(expected.size, rel=1e-9)
        assert row.kelly_fraction == pytest.approx(expected.kelly, rel=1e-9)
        window = rows["ret_1d"].to_numpy(float)[t - config.var_window + 1 : t + 1]
        assert row.var_95 == pytest.approx(historical_var(window, 0.95, position=row.size), rel=1e-12)
        assert row.var_99 == pytest.approx(historical_var(window, 0.99, position=row.size), rel=1e-12)
        assert row.var_99_parametric == pytest.approx(parametric_var(window, 0.99, position=row.size), rel=1e-12)


def test_the_scorecard_has_the_oracle_the_baselines_and_a_signal_that_trades(stage):
    """Every component scored like the model beside long-only, always-majority and the simulated world's oracle
    (pooled over the oracle's instruments); the shipped decision trades (before its thresholds suited the model it
    was FLAT on more than 99% of rows)."""
    oracle = oracle_scores(stage.settings.seed, CONFIG.horizons)
    card = scorecard(
        stage.signals, stage.inputs.features, stage.inputs.labels, CONFIG.evaluation, oracle, ORACLE_SYMBOLS
    )
    pool = card[card["symbol"] == ORACLE_SET].set_index(["model", "horizon"])
    for h in CONFIG.horizons:
        for model in ("lightgbm", "signal", "long_only", "majority", "oracle"):
            assert np.isfinite(pool.loc[(model, h), "hit_rate"]) and np.isfinite(pool.loc[(model, h), "sharpe"])
        assert pool.loc[("oracle", h), "ic"] > pool.loc[("lightgbm", h), "ic"]  # the limit of this world
        assert 0.2 < pool.loc[("signal", h), "coverage"] < 1.0


def test_the_scorecard_shared_among_worker_processes_equals_one_process(stage):
    """`nexus run` shares the scorecard's models among the model stage's workers: every row as one process has it,
    in the same order, whichever worker evaluated it (each has its own baseline cache)."""
    oracle = oracle_scores(stage.settings.seed, CONFIG.horizons)
    args = (stage.signals, stage.inputs.features, stage.inputs.labels, CONFIG.evaluation, oracle, ORACLE_SYMBOLS)
    alone = scorecard(*args, workers=1)
    shared = scorecard(*args, workers=2)
    pd.testing.assert_frame_equal(shared, alone, check_exact=True)
    assert list(alone["model"].unique()) == [m for m in MODELS if m in set(alone["model"])]


def test_signals_with_the_feature_context_in_a_worker_equal_one_process(stage):
    """Where the model stage's worker server runs (`nexus run`), the signals are built with the unit VaR and feature
    hashes computed in a worker while the horizons are decided: the same signals, weights and thresholds as one
    process."""
    by_horizon = {int(h): rows for h, rows in stage.predictions.groupby("horizon")}
    args = (stage.inputs.features, stage.inputs.labels, by_horizon, stage.regimes)
    alone = build_signals(*args, run_id="test", config=SignalConfig(), feature_worker=False)
    shared = build_signals(*args, run_id="test", config=SignalConfig(), feature_worker=True)
    pd.testing.assert_frame_equal(alone[0], stage.signals, check_exact=True)
    for left, right in zip(shared, alone, strict=True):
        pd.testing.assert_frame_equal(left, right, check_exact=True)
