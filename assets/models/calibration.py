"""Probability calibration: one-vs-rest isotonic or Platt maps, renormalized, chosen by held-out Brier score.

Boosted trees trained on noisy returns are over-confident where they split on noise. The calibrator is fitted on
predictions for a held-out, time-ordered slice at the end of the training window (never the prediction period);
the method is chosen by forward-chained Brier score within that slice (fit on the earlier blocks, score on the
next), with "identity" as a candidate so that calibration can never be chosen when it does not help. Parameters
are plain floats (a pydantic model) so the calibrator is stored, hashed and reloaded exactly.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

Method = Literal["identity", "platt", "isotonic"]
EPS = 1e-6


class CalibrationConfig(BaseModel):
    """Which calibrators compete and how they are scored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    methods: tuple[Method, ...] = ("identity", "platt", "isotonic")
    n_blocks: int = Field(default=3, ge=2, le=10, description="time-ordered blocks; forward-chained folds = n-1")
    min_rows: int = Field(default=150, ge=10, description="below this many held-out rows, use identity")
    min_improvement: float = Field(
        default=0.0, ge=0.0, description="a calibrator must beat identity's held-out Brier by this much"
    )


class Calibrator(BaseModel):
    """A fitted calibrator: per class (in model order DOWN, FLAT, UP) a one-vs-rest map, then renormalization."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Method
    n_rows: int = 0
    platt: list[tuple[float, float]] | None = Field(default=None, description="(slope, intercept) on logit(p)")
    isotonic_x: list[list[float]] | None = None
    isotonic_y: list[list[float]] | None = None
    heldout_brier: dict[str, float] = Field(default_factory=dict, description="selection evidence per method")

    def transform(self, proba: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (rows sum to 1) for raw model probabilities of shape (n, n_classes)."""
        proba = np.asarray(proba, dtype="float64")
        if self.method == "identity":
            return proba.copy()
        out = np.empty_like(proba)
        for k in range(proba.shape[1]):
            p = proba[:, k]
            if self.method == "platt":
                assert self.platt is not None
                slope, intercept = self.platt[k]
                out[:, k] = _sigmoid(slope * _logit(p) + intercept)
            else:
                assert self.isotonic_x is not None and self.isotonic_y is not None
                out[:, k] = np.interp(p, self.isotonic_x[k], self.isotonic_y[k])
        out = np.clip(out, EPS, None)
        return out / out.sum(axis=1, keepdims=True)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1.0 - EPS)
    return np.log(p / (1.0 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _platt_fit(x: np.ndarray, y: np.ndarray, ridge: float = 1e-6, max_iter: int = 100) -> tuple[float, float]:
    """Logistic regression of y on x, (slope, intercept), by damped Newton steps: deterministic and fast.

    A tiny ridge keeps the Hessian invertible when x is constant or the classes separate.
    """
    design = np.column_stack([x, np.ones_like(x)])

    def loss(beta: np.ndarray) -> float:
        z = design @ beta
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * ridge * beta @ beta)

    beta = np.array([1.0, 0.0])
    current = loss(beta)
    for _ in range(max_iter):
        p = _sigmoid(design @ beta)
        grad = design.T @ (p - y) + ridge * beta
        hess = (design * (p * (1.0 - p))[:, None]).T @ design + ridge * np.eye(2)
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-8:
            trial = beta - scale * step
            value = loss(trial)
            if value <= current:
                break
            scale *= 0.5
        else:
            break
        beta, improved = trial, current - value
        current = value
        if np.max(np.abs(scale * step)) < 1e-10 or improved < 1e-12:
            break
    return float(beta[0]), float(beta[1])


def multiclass_brier(proba: np.ndarray, y: np.ndarray) -> float:
    """Mean over rows of sum_k (p_k - 1[y == k])^2 (0 is perfect, 2 is worst); y holds class indexes."""
    proba = np.asarray(proba, dtype="float64")
    onehot = np.zeros_like(proba)
    onehot[np.arange(len(y)), np.asarray(y, dtype=int)] = 1.0
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def fit_calibrator(proba: np.ndarray, y: np.ndarray, method: Method) -> Calibrator:
    """Fit one method on raw probabilities and class indexes (Newton steps and PAVA: no randomness)."""
    proba = np.asarray(proba, dtype="float64")
    y = np.asarray(y, dtype=int)
    n_classes = proba.shape[1]
    if method == "identity":
        return Calibrator(method="identity", n_rows=len(y))
    if method == "platt":
        params: list[tuple[float, float]] = []
        for k in range(n_classes):
            target = (y == k).astype(int)
            if target.min() == target.max():  # a class absent (or alone): keep the raw probability
                params.append((1.0, 0.0))
                continue
            params.append(_platt_fit(_logit(proba[:, k]), target.astype("float64")))
        return Calibrator(method="platt", n_rows=len(y), platt=params)
    from sklearn.isotonic import IsotonicRegression  # here, not with the definitions (0.7 s to import)

    xs: list[list[float]] = []
    ys: list[list[float]] = []
    for k in range(n_classes):
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        iso.fit(proba[:, k], (y == k).astype("float64"))
        xs.append([float(v) for v in iso.X_thresholds_])
        ys.append([float(v) for v in iso.y_thresholds_])
    return Calibrator(method="isotonic", n_rows=len(y), isotonic_x=xs, isotonic_y=ys)


def select_calibrator(proba: np.ndarray, y: np.ndarray, config: CalibrationConfig | None = None) -> Calibrator:
    """Choose the method with the lowest forward-chained held-out Brier score, then refit it on all rows.

    `proba` and `y` must be in time order (rows of a held-out slice of the training window). The slice is cut
    into `n_blocks` consecutive blocks; fold j fits on blocks < j and scores block j. Ties keep the earlier method
    in `config.methods` (identity first by default), and a calibrator must beat identity by `min_improvement`.
    """
    config = config or CalibrationConfig()
    proba = np.asarray(proba, dtype="float64")
    y = np.asarray(y, dtype=int)
    n = len(y)
    if n < config.min_rows:
        return Calibrator(method="identity", n_rows=n)
    bounds = np.linspace(0, n, config.n_blocks + 1).round().astype(int)
    scores: dict[str, float] = {}
    for method in config.methods:
        briers = []
        for j in range(1, config.n_blocks):
            fit_end, score_end = bounds[j], bounds[j + 1]
            if score_end <= fit_end:
                continue
            cal = fit_calibrator(proba[:fit_end], y[:fit_end], method)
            briers.append(multiclass_brier(cal.transform(proba[fit_end:score_end]), y[fit_end:score_end]))
        scores[method] = float(np.mean(briers)) if briers else float("inf")
    best = min(config.methods, key=lambda m: (scores[m], config.methods.index(m)))
    if best != "identity" and "identity" in scores and scores["identity"] - scores[best] < config.min_improvement:
        best = "identity"
    chosen = fit_calibrator(proba, y, best)
    return chosen.model_copy(update={"heldout_brier": scores})


__all__ = ["CalibrationConfig", "Calibrator", "Method", "fit_calibrator", "multiclass_brier", "select_calibrator"]
