"""LightGBM direction classifier (DOWN, FLAT, UP): deterministic, modest capacity, stored as text plus calibrator.

The features carry a few weak effects in a lot of noise, over roughly 10^4 rows per training window, so the model is
kept small and regularized (few leaves, many rows per leaf, L2, feature and row subsampling, coarse bins) and the
number of trees comes from early stopping on a time-ordered validation slice. `deterministic=True`, `force_row_wise`,
a fixed seed and a fixed thread count make the same inputs give the same model text, byte for byte.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from assets.models.calibration import Calibrator
from assets.models.labels import CLASSES, normalize_keys
from resources.model_store import ModelArtifact, ModelMetadata, library_versions, with_hash

if TYPE_CHECKING:  # imported where a model is trained or loaded, not with the definitions
    import lightgbm as lgb

CATEGORICAL_FEATURES: tuple[str, ...] = ("symbol", "asset_class")
# Every numeric column of the features contract except `close` (a price level: its scale is the symbol's, not
# information). Columns absent from a frame are skipped when the default list is used.
NUMERIC_FEATURES: tuple[str, ...] = (
    "ret_1d",
    "ret_5d",
    "ret_20d",
    "ret_60d",
    "ret_120d",
    "ret_250d",
    "rvol_20d",
    "rvol_60d",
    "drawdown",
    "dist_ma200",
    "vix",
    "vix_vix3m_ratio",
    "vix9d_vix_ratio",
    "vix_pct_1y",
    "skew_pct_1y",
    "vix_backwardation",
    "cot_spec_net_share",
    "cot_spec_z52",
    "cot_spec_pct52",
    "cot_smart_net_share",
    "cot_smart_z52",
    "cot_divergence",
    "cot_divergence_z52",
    "cot_index",
    "cot_days_since_report",
    "dgs10",
    "curve_10y2y",
    "curve_10y3m",
    "dgs10_chg_20d",
    "usd_ret_20d",
    "crude_surprise_z",
    "crude_change_vs_5y",
    "gas_storage_vs_5y_pct",
    "wti_roll_yield",
    "wti_c1_c2",
    "wti_basis",
    "ng_roll_yield",
    "energy_days_since_release",
    "mvrv",
    "mvrv_z365",
    "nvt",
    "active_addr_mom",
    "hashrate_mom",
    "top100_share",
)
PROBA_COLUMNS: tuple[str, ...] = ("p_down", "p_flat", "p_up")


class LGBMConfig(BaseModel):
    """Booster settings. Defaults are sized for ~10^4 noisy rows and 2 cores (see the benchmark)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    num_leaves: int = Field(default=7, ge=2)
    max_depth: int = Field(default=3, ge=-1)
    min_data_in_leaf: int = Field(default=300, ge=1)
    feature_fraction: float = Field(default=0.5, gt=0, le=1)
    bagging_fraction: float = Field(default=0.7, gt=0, le=1)
    bagging_freq: int = Field(default=1, ge=0)
    lambda_l2: float = Field(default=10.0, ge=0)
    min_gain_to_split: float = Field(default=0.0, ge=0)
    extra_trees: bool = False
    learning_rate: float = Field(default=0.1, gt=0)
    max_bin: int = Field(default=63, ge=3)
    min_data_per_group: int = Field(default=200, ge=1, description="rows per category level (symbol, class)")
    cat_smooth: float = Field(default=20.0, ge=0)
    max_cat_threshold: int = Field(default=8, ge=1)
    num_boost_round: int = Field(default=300, ge=1, description="upper bound on trees per class")
    early_stopping_rounds: int = Field(default=50, ge=1)
    min_boost_round: int = Field(default=10, ge=1, description="floor on the early-stopped number of trees")
    min_validation_rows: int = Field(default=100, ge=1, description="below this, no early stopping")
    fallback_rounds: int = Field(default=50, ge=1, description="trees when the validation slice is too small")
    num_threads: int = Field(default=1, ge=1, description="1: fastest on small windows and on a busy machine")
    seed: int = 7


def booster_params(config: LGBMConfig) -> dict[str, Any]:
    """LightGBM parameters: multiclass softmax over (DOWN, FLAT, UP), fully deterministic."""
    return {
        "objective": "multiclass",
        "num_class": len(CLASSES),
        "metric": "multi_logloss",
        "num_leaves": config.num_leaves,
        "max_depth": config.max_depth,
        "min_data_in_leaf": config.min_data_in_leaf,
        "feature_fraction": config.feature_fraction,
        "bagging_fraction": config.bagging_fraction,
        "bagging_freq": config.bagging_freq,
        "lambda_l2": config.lambda_l2,
        "min_gain_to_split": config.min_gain_to_split,
        "extra_trees": config.extra_trees,
        "learning_rate": config.learning_rate,
        "max_bin": config.max_bin,
        "min_data_per_group": config.min_data_per_group,
        "cat_smooth": config.cat_smooth,
        "max_cat_threshold": config.max_cat_threshold,
        "num_threads": config.num_threads,
        "seed": config.seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }


def default_features(frame: pd.DataFrame, categorical: Sequence[str] = CATEGORICAL_FEATURES) -> list[str]:
    """The contract's numeric features present in the frame, then the categorical ones (contract order)."""
    return [c for c in NUMERIC_FEATURES if c in frame.columns] + [c for c in categorical if c in frame.columns]


def design_matrix(frame: pd.DataFrame, features: Sequence[str], categorical: Sequence[str]) -> pd.DataFrame:
    """The model's input: numeric columns as float64, categorical ones as pandas categories, in feature order.

    Category levels need not match training: LightGBM re-maps them to the levels stored in the model text, and a
    level never seen in training becomes missing.
    """
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise KeyError(f"features missing from the frame: {missing}")
    cats = set(categorical)
    columns: dict[str, Any] = {}
    for name in features:
        values = frame[name]
        if name in cats:
            columns[name] = pd.Categorical(values.astype(str), categories=sorted(values.astype(str).unique()))
        else:
            columns[name] = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    return pd.DataFrame(columns, index=frame.index)


def class_index(labels: pd.Series | np.ndarray) -> np.ndarray:
    """Class -1/0/+1 to the model's class index 0/1/2."""
    return np.asarray(labels, dtype="int64") + 1


def make_dataset(x: pd.DataFrame, y: np.ndarray, config: LGBMConfig, categorical: Sequence[str]) -> lgb.Dataset:
    """A constructed Dataset; slices of it (`Dataset.subset`) reuse its bins instead of binning again.

    Bin edges are feature quantiles of the rows given (no labels), so binning a whole training window once and
    fitting on an earlier slice of it does not leak anything from after the slice.
    """
    import lightgbm as lgb

    cat = [c for c in categorical if c in x.columns]
    params = booster_params(config)
    return lgb.Dataset(x, label=y, categorical_feature=cat or "auto", params=params, free_raw_data=False).construct()


def fit_booster(
    train_set: lgb.Dataset,
    config: LGBMConfig,
    valid_set: lgb.Dataset | None = None,
    rounds: int | None = None,
) -> tuple[lgb.Booster, int]:
    """Train with early stopping on `valid_set` when given and large enough, else a fixed number of rounds.

    Returns the booster and the number of trees per class to use: the best iteration when early stopping ran
    (never below `min_boost_round`), else the rounds trained.
    """
    import lightgbm as lgb

    params = booster_params(config)
    early = valid_set is not None and valid_set.construct().num_data() >= config.min_validation_rows
    if not early:
        n = rounds if rounds is not None else config.fallback_rounds
        return lgb.train(params, train_set, num_boost_round=n), n
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=rounds or config.num_boost_round,
        valid_sets=[valid_set],
        keep_training_booster=True,  # else LightGBM truncates to the best iteration and the floor has no trees
        callbacks=[lgb.early_stopping(config.early_stopping_rounds, first_metric_only=True, verbose=False)],
    )
    best = booster.best_iteration or booster.current_iteration()
    return booster, min(max(int(best), config.min_boost_round), booster.current_iteration())


class TrainedModel:
    """A booster, its calibrator and its metadata: what the store keeps and what scoring uses."""

    def __init__(self, booster: lgb.Booster, calibrator: Calibrator, metadata: ModelMetadata) -> None:
        self.booster = booster
        self.calibrator = calibrator
        self.metadata = metadata
        self._text: str | None = None

    @property
    def model_text(self) -> str:
        if self._text is None:
            self._text = self.booster.model_to_string()
        return self._text

    @property
    def content_hash(self) -> str:
        return self.metadata.content_hash

    @property
    def version(self) -> str:
        return self.to_artifact().version

    def predict_raw(self, frame: pd.DataFrame) -> np.ndarray:
        """Uncalibrated class probabilities, shape (n, 3) in order DOWN, FLAT, UP."""
        x = design_matrix(frame, self.metadata.features, self.metadata.categorical_features)
        return np.asarray(self.booster.predict(x), dtype="float64").reshape(len(frame), len(CLASSES))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated class probabilities, shape (n, 3) in order DOWN, FLAT, UP; rows sum to 1."""
        if len(frame) == 0:
            return np.zeros((0, len(CLASSES)))
        return self.calibrator.transform(self.predict_raw(frame))

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Keys plus p_down, p_flat, p_up, score (p_up - p_down) and the predicted class, one row per input row."""
        proba = self.predict_proba(frame)
        keys = normalize_keys(frame[["symbol", "trade_date"]])
        out = pd.DataFrame(
            {
                "symbol": keys["symbol"].to_numpy(),
                "trade_date": keys["trade_date"].to_numpy(),
                "horizon": np.int16(self.metadata.horizon),
                "cutoff": pd.Timestamp(self.metadata.cutoff),
                "model_version": self.version,
            },
            index=frame.index,
        )
        for i, name in enumerate(PROBA_COLUMNS):
            out[name] = proba[:, i] if len(frame) else np.zeros(0)
        out["score"] = out["p_up"] - out["p_down"]
        out["pred_class"] = (np.asarray(CLASSES)[proba.argmax(axis=1)] if len(frame) else np.zeros(0)).astype("int8")
        return out

    def to_artifact(self) -> ModelArtifact:
        return ModelArtifact(
            model_text=self.model_text,
            calibrator=self.calibrator.model_dump(mode="json"),
            metadata=self.metadata,
        )

    @classmethod
    def from_artifact(cls, artifact: ModelArtifact) -> TrainedModel:
        import lightgbm as lgb

        booster = lgb.Booster(model_str=artifact.model_text)
        model = cls(booster, Calibrator.model_validate(artifact.calibrator), artifact.metadata)
        model._text = artifact.model_text
        return model

    @classmethod
    def build(
        cls,
        booster: lgb.Booster,
        calibrator: Calibrator,
        *,
        name: str,
        horizon: int,
        mode: str,
        symbol: str | None,
        cutoff: date,
        train_start: date,
        train_end: date,
        n_train: int,
        n_calibration: int,
        best_iteration: int,
        features: Sequence[str],
        categorical: Sequence[str],
        config: dict[str, Any],
        metrics: dict[str, float],
    ) -> TrainedModel:
        """Assemble a model and fill in its content hash (non-finite metrics are dropped: JSON has no NaN)."""
        metadata = ModelMetadata(
            name=name,
            horizon=horizon,
            mode=mode,
            symbol=symbol,
            cutoff=cutoff,
            train_start=train_start,
            train_end=train_end,
            n_train=n_train,
            n_calibration=n_calibration,
            best_iteration=best_iteration,
            features=list(features),
            categorical_features=[c for c in categorical if c in features],
            classes=list(CLASSES),
            config=config,
            metrics={k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(v)},
            library_versions=library_versions(),
        )
        model = cls(booster, calibrator, metadata)
        model.metadata = with_hash(model.to_artifact()).metadata
        return model


__all__ = [
    "CATEGORICAL_FEATURES",
    "NUMERIC_FEATURES",
    "PROBA_COLUMNS",
    "LGBMConfig",
    "TrainedModel",
    "booster_params",
    "class_index",
    "default_features",
    "design_matrix",
    "fit_booster",
    "make_dataset",
]
