"""Calibration: over-confident probabilities get a lower held-out Brier score, outputs are distributions, the
selection prefers doing nothing when nothing helps, and a calibrator round-trips through JSON exactly."""

from __future__ import annotations

import numpy as np
import pytest

from assets.models.calibration import (
    CalibrationConfig,
    Calibrator,
    fit_calibrator,
    multiclass_brier,
    select_calibrator,
)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _sample(n: int, sharpen: float, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(model probabilities, class index): true probabilities from random logits; the model raises them to a power."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 0.6, size=(n, 3)) + np.array([0.0, -0.5, 0.0])
    truth = _softmax(logits)
    y = np.array([rng.choice(3, p=p) for p in truth])
    return _softmax(sharpen * logits), y


def test_multiclass_brier_by_hand():
    proba = np.array([[1.0, 0.0, 0.0], [0.5, 0.25, 0.25]])
    # row 1 is right and certain: 0; row 2 (truth UP): 0.5^2 + 0.25^2 + 0.75^2 = 0.875
    assert multiclass_brier(proba, np.array([0, 2])) == pytest.approx(0.4375)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_an_overconfident_model_scores_better_after_calibration(method):
    proba, y = _sample(6000, sharpen=3.0)
    fit, test = slice(0, 3000), slice(3000, 6000)  # calibrate on the earlier half, score on the later one
    cal = fit_calibrator(proba[fit], y[fit], method)
    raw = multiclass_brier(proba[test], y[test])
    calibrated = multiclass_brier(cal.transform(proba[test]), y[test])
    assert calibrated < raw - 0.02


def test_selection_picks_a_calibrator_for_overconfident_and_identity_for_calibrated_models():
    proba, y = _sample(6000, sharpen=3.0)
    chosen = select_calibrator(proba[:3000], y[:3000])
    assert chosen.method in ("platt", "isotonic")
    assert chosen.heldout_brier[chosen.method] < chosen.heldout_brier["identity"]
    assert multiclass_brier(chosen.transform(proba[3000:]), y[3000:]) < multiclass_brier(proba[3000:], y[3000:])
    # a model that is already calibrated: whatever is chosen must not hurt on later data
    honest, y2 = _sample(6000, sharpen=1.0, seed=5)
    kept = select_calibrator(honest[:3000], y2[:3000])
    after = multiclass_brier(kept.transform(honest[3000:]), y2[3000:])
    assert after <= multiclass_brier(honest[3000:], y2[3000:]) + 0.002


def test_calibrated_probabilities_are_distributions():
    proba, y = _sample(3000, sharpen=4.0)
    for method in ("identity", "platt", "isotonic"):
        out = fit_calibrator(proba, y, method).transform(proba)
        assert out.shape == proba.shape
        assert np.all(out > 0) and np.all(out < 1)
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_platt_recovers_a_known_map():
    rng = np.random.default_rng(9)
    n = 40000
    raw = rng.uniform(0.05, 0.95, size=n)
    logit = np.log(raw / (1 - raw))
    truth = 1 / (1 + np.exp(-(0.5 * logit - 0.2)))  # the model is twice as confident as it should be, and biased
    hit = rng.random(n) < truth
    y = np.where(hit, 2, 0)
    proba = np.column_stack([1 - raw, np.zeros(n), raw])
    slope, intercept = fit_calibrator(proba, y, "platt").platt[2]
    assert slope == pytest.approx(0.5, abs=0.03) and intercept == pytest.approx(-0.2, abs=0.03)


def test_too_few_rows_means_identity_and_json_round_trip_is_exact():
    proba, y = _sample(100, sharpen=3.0)
    assert select_calibrator(proba, y, CalibrationConfig(min_rows=150)).method == "identity"
    proba, y = _sample(2000, sharpen=3.0)
    for method in ("platt", "isotonic"):
        cal = fit_calibrator(proba, y, method)
        again = Calibrator.model_validate_json(cal.model_dump_json())
        assert np.array_equal(again.transform(proba), cal.transform(proba))
