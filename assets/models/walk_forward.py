"""Walk-forward training: expanding windows on a calendar schedule, purged by label end, embargoed before predicting.

At each cutoff C (a period end: every `retrain_months`), a model trains on the rows whose label ended on or before C
(purging: a label is known only at D + h trading days) and predicts the rows dated at least `embargo_days` trading
days after C, until the next model takes over. Every row dated D is therefore predicted by the latest model whose
cutoff is on or before D - embargo (in the row's own calendar), and by exactly one model.

Inside a training window the same rule splits time again: the last `calibration_fraction` of dates is a held-out
slice for the calibrator, and before it the last `validation_fraction` is the early-stopping slice; each earlier part
is purged at the next part's start. The final model is refitted on the whole window with the early-stopped number of
trees, and the calibrator fitted on the held-out slice's out-of-sample predictions is attached to it (the scheme of
scikit-learn's `CalibratedClassifierCV(ensemble=False)`, with time-ordered instead of shuffled folds).

Pooled (default): one model per cutoff over all symbols, with symbol and asset class as categorical features.
Per symbol: one model per symbol and cutoff without them. The benchmark measures both on the synthetic panel: pooled
finds the planted effect about twice as well (D+5 IC 0.07 against 0.03) in half the time, because one symbol's
few thousand rows cannot tell a weak effect from noise; pooled is the default and the recommendation.

Cadence: half-yearly by default. Quarterly doubles the training time (all six horizons would exceed two minutes on
2 cores) for no measurable gain on the benchmark panel, yearly halves it; real markets drift, so half a year is the
longest staleness we accept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from assets.models.calibration import CalibrationConfig, Calibrator, multiclass_brier, select_calibrator
from assets.models.effect_features import EffectFeatureConfig, add_effect_features
from assets.models.labels import HORIZONS, LabelConfig, horizon_labels, normalize_keys, shift_by_calendar
from assets.models.lgbm import (
    CATEGORICAL_FEATURES,
    LGBMConfig,
    TrainedModel,
    class_index,
    default_features,
    design_matrix,
    fit_booster,
    make_dataset,
)

Mode = Literal["pooled", "per_symbol"]
PREDICTION_COLUMNS: tuple[str, ...] = (
    "symbol",
    "trade_date",
    "horizon",
    "cutoff",
    "model_version",
    "p_down",
    "p_flat",
    "p_up",
    "score",
    "pred_class",
)


class WalkForwardConfig(BaseModel):
    """One horizon's walk-forward: schedule, purging/embargo, model, labels and calibration settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    horizon: int = 5
    mode: Mode = "pooled"
    retrain_months: Literal[1, 2, 3, 4, 6, 12] = Field(
        default=6, description="cutoffs at the end of every n-th month (6: June 30 and December 31)"
    )
    min_train_years: float = Field(default=3.0, ge=0.25, description="history before the first cutoff")
    min_train_rows: int = Field(default=500, ge=50, description="fewer purged training rows: no model")
    embargo_days: int | None = Field(default=None, description="trading days; None means the horizon")
    calibration_fraction: float = Field(default=0.25, ge=0.0, lt=0.6)
    validation_fraction: float = Field(default=0.2, gt=0.0, lt=0.6)
    features: tuple[str, ...] | None = Field(default=None, description="None: the contract's features present")
    name_prefix: str = Field(default="lgbm_direction", pattern=r"^[A-Za-z0-9_]+$")
    labels: LabelConfig = LabelConfig()
    effects: EffectFeatureConfig = EffectFeatureConfig()
    lgbm: LGBMConfig = LGBMConfig()
    calibration: CalibrationConfig = CalibrationConfig()

    @model_validator(mode="after")
    def _check(self) -> WalkForwardConfig:
        if self.horizon not in HORIZONS:
            raise ValueError(f"horizon {self.horizon} is not one of {HORIZONS}")
        if self.embargo_days is not None and self.embargo_days < self.horizon:
            raise ValueError(f"embargo_days ({self.embargo_days}) must be at least the horizon ({self.horizon})")
        return self

    @property
    def embargo(self) -> int:
        return self.embargo_days if self.embargo_days is not None else self.horizon

    def for_horizon(self, horizon: int) -> WalkForwardConfig:
        """The same settings for another horizon (an explicit embargo is raised to the horizon if shorter)."""
        embargo = None if self.embargo_days is None else max(self.embargo_days, horizon)
        return self.model_copy(update={"horizon": horizon, "embargo_days": embargo})


class CutoffSummary(BaseModel):
    """One trained model of a walk-forward: its windows and what it did (fit_seconds is the only timing)."""

    model_config = ConfigDict(extra="forbid")

    horizon: int
    cutoff: date
    symbol: str | None = None
    model_version: str
    n_train: int
    n_calibration: int
    train_start: date
    train_end: date
    max_label_end: date
    best_iteration: int
    calibration_method: str
    predict_start: date | None = None
    predict_end: date | None = None
    n_predicted: int = 0
    fit_seconds: float = 0.0


class WalkForwardResult(BaseModel):
    """Out-of-sample predictions (columns `PREDICTION_COLUMNS`, sorted by symbol and date) and the models."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    horizon: int
    config: WalkForwardConfig
    predictions: pd.DataFrame
    cutoffs: list[CutoffSummary]
    models: list[TrainedModel] = Field(default_factory=list, repr=False)
    seconds: float = 0.0


def prepare_panel(features: pd.DataFrame, labels: pd.DataFrame, config: WalkForwardConfig) -> pd.DataFrame:
    """Features plus the effect features of the horizon (`effect_features.py`), its label columns, `label_end`
    and `latest_cutoff` (D - embargo trading days).

    A row may be used for training by a model with cutoff C only if label_end <= C, and predicted only if
    C <= latest_cutoff. Sorted by trade_date then symbol, so every slice is in time order.
    """
    feats = normalize_keys(features)
    if feats.duplicated(["symbol", "trade_date"]).any():
        raise ValueError("features have duplicate (symbol, trade_date) rows")
    feats = add_effect_features(feats, config.horizon, config.effects)
    labs = horizon_labels(feats, labels, config.horizon, config.labels)
    panel = feats.reset_index(drop=True)
    for column in ("fwd_ret", "sigma_daily", "band", "label", "label_end"):
        panel[column] = labs[column].to_numpy()
    panel["latest_cutoff"] = shift_by_calendar(panel, -config.embargo)
    return panel.sort_values(["trade_date", "symbol"], ignore_index=True)


def cutoff_schedule(dates: pd.Series | np.ndarray, config: WalkForwardConfig) -> list[date]:
    """Period ends (every `retrain_months`) from the first date plus `min_train_years` until the last date."""
    values = pd.to_datetime(pd.Series(dates))
    if values.empty:
        return []
    first, last = values.min(), values.max()
    earliest = first + pd.Timedelta(days=round(365.25 * config.min_train_years))
    ends = pd.date_range(earliest.to_period("M").to_timestamp(), last, freq="ME")
    return [d.date() for d in ends if d.month % config.retrain_months == 0 and earliest <= d < last]


SPLIT_COLUMNS: tuple[str, ...] = ("symbol", "trade_date", "label", "label_end", "latest_cutoff")


def model_columns(panel: pd.DataFrame, config: WalkForwardConfig) -> list[str]:
    """The prepared columns a walk-forward's models read: keys, label and its windows, and the features.

    Every slice of the panel (one per cutoff, for training, splitting and predicting) and the training-rows key of
    the fit cache then touch these few columns instead of the whole mart; with no explicit feature list the
    model reads every contract column present, so all are kept.
    """
    if not config.features:
        return list(panel.columns)
    wanted = [*SPLIT_COLUMNS, *config.features, *CATEGORICAL_FEATURES]
    return [c for c in dict.fromkeys(wanted) if c in panel.columns]


def _time_split(frame: pd.DataFrame, fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(earlier part purged at the split, held-out later part): the later part is its last `fraction` of dates."""
    dates = np.sort(frame["trade_date"].unique())
    if fraction <= 0 or len(dates) < 4:
        return frame, frame.iloc[0:0]
    split = pd.Timestamp(dates[int(np.floor((1.0 - fraction) * len(dates)))])
    later = frame[frame["latest_cutoff"] >= split]
    earlier = frame[frame["label_end"] <= split]
    return earlier, later


def model_name(config: WalkForwardConfig, symbol: str | None = None) -> str:
    """Store name of a walk-forward's models: lgbm_direction_h5_pooled or lgbm_direction_h5_SPX."""
    return f"{config.name_prefix}_h{config.horizon}_{symbol if symbol else 'pooled'}"


def train_model(
    train: pd.DataFrame, cutoff: date, config: WalkForwardConfig, symbol: str | None = None
) -> TrainedModel:
    """Train and calibrate one model on prepared rows that are already purged at `cutoff` (label_end <= cutoff).

    Raises ValueError when a row's label ends after the cutoff: purging is the caller's job, checked here.
    """
    train = train[train["label"].notna()]
    if train.empty:
        raise ValueError("no labelled training rows")
    if (train["label_end"] > pd.Timestamp(cutoff)).any():
        raise ValueError("training rows include labels that end after the cutoff (not purged)")
    categorical = CATEGORICAL_FEATURES if symbol is None and config.mode == "pooled" else ()
    features = list(config.features) if config.features else default_features(train, categorical)
    if not categorical:  # a per-symbol model: symbol and asset class are constants there
        features = [f for f in features if f not in CATEGORICAL_FEATURES]
    categorical = tuple(c for c in categorical if c in features)

    train = train.reset_index(drop=True)
    fit_part, calib_part = _time_split(train, config.calibration_fraction)
    if len(calib_part) < config.calibration.min_rows or len(fit_part) < config.min_train_rows // 2:
        fit_part, calib_part = train, train.iloc[0:0]
    fit_rows, val_rows = _time_split(fit_part, config.validation_fraction)

    x_all = design_matrix(train, features, categorical)
    y_all = class_index(train["label"])
    full = make_dataset(x_all, y_all, config.lgbm, categorical)
    fit_set = full.subset(fit_rows.index.to_list())
    val_set = full.subset(val_rows.index.to_list()) if len(val_rows) else None
    first, best = fit_booster(fit_set, config.lgbm, val_set)
    metrics: dict[str, float] = {"n_fit": float(len(fit_rows)), "n_validation": float(len(val_rows))}
    if first.best_score:
        metrics["validation_logloss"] = float(first.best_score["valid_0"]["multi_logloss"])

    calibrator = Calibrator(method="identity", n_rows=0)
    if len(calib_part):
        y_cal = y_all[calib_part.index.to_numpy()]
        raw = first.predict(x_all.iloc[calib_part.index.to_numpy()], num_iteration=best)
        raw = np.asarray(raw, dtype="float64").reshape(len(calib_part), -1)
        calibrator = select_calibrator(raw, y_cal, config.calibration)
        metrics["heldout_brier_raw"] = multiclass_brier(raw, y_cal)
        for method, score in calibrator.heldout_brier.items():
            metrics[f"heldout_brier_{method}"] = score

    final, _ = fit_booster(full, config.lgbm, rounds=max(1, best))
    return TrainedModel.build(
        final,
        calibrator,
        name=model_name(config, symbol),
        horizon=config.horizon,
        mode=config.mode,
        symbol=symbol,
        cutoff=cutoff,
        train_start=pd.Timestamp(train["trade_date"].min()).date(),
        train_end=pd.Timestamp(train["trade_date"].max()).date(),
        n_train=len(train),
        n_calibration=len(calib_part),
        best_iteration=max(1, best),
        features=features,
        categorical=categorical,
        config=config.model_dump(mode="json"),
        metrics=metrics,
    )


def _summary(
    model: TrainedModel, train: pd.DataFrame, predicted: pd.DataFrame, seconds: float, symbol: str | None
) -> CutoffSummary:
    meta = model.metadata
    return CutoffSummary(
        horizon=meta.horizon,
        cutoff=meta.cutoff,
        symbol=symbol,
        model_version=model.version,
        n_train=meta.n_train,
        n_calibration=meta.n_calibration,
        train_start=meta.train_start,
        train_end=meta.train_end,
        max_label_end=pd.Timestamp(train["label_end"].max()).date(),
        best_iteration=meta.best_iteration,
        calibration_method=model.calibrator.method,
        predict_start=pd.Timestamp(predicted["trade_date"].min()).date() if len(predicted) else None,
        predict_end=pd.Timestamp(predicted["trade_date"].max()).date() if len(predicted) else None,
        n_predicted=len(predicted),
        fit_seconds=seconds,
    )


Trainer = Callable[[pd.DataFrame, date, "WalkForwardConfig", str | None], TrainedModel]


def walk_forward(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    config: WalkForwardConfig,
    *,
    trainer: Trainer | None = None,
) -> WalkForwardResult:
    """Out-of-sample predictions for one horizon: every row after the first cutoff + embargo, by exactly one model.

    `trainer` replaces `train_model` (same signature), e.g. to reuse a stored model trained on identical rows.
    """
    trainer = trainer or train_model
    started = time.perf_counter()
    panel = prepare_panel(features, labels, config)
    panel = panel[model_columns(panel, config)]
    cutoffs = cutoff_schedule(panel["trade_date"], config)
    groups: list[tuple[str | None, pd.DataFrame]] = (
        [(None, panel)] if config.mode == "pooled" else [(str(s), g) for s, g in panel.groupby("symbol", sort=True)]
    )
    predictions: list[pd.DataFrame] = []
    summaries: list[CutoffSummary] = []
    models: list[TrainedModel] = []
    for symbol, rows in groups:
        first_date = rows["trade_date"].min()
        labelled = rows[rows["label"].notna()]
        for i, cutoff in enumerate(cutoffs):
            c = pd.Timestamp(cutoff)
            if c < first_date + pd.Timedelta(days=round(365.25 * config.min_train_years)):
                continue  # a per-symbol model needs the symbol's own history
            nxt = pd.Timestamp(cutoffs[i + 1]) if i + 1 < len(cutoffs) else pd.Timestamp.max
            train = labelled[labelled["label_end"] <= c]
            target = rows[(rows["latest_cutoff"] >= c) & (rows["latest_cutoff"] < nxt)]
            if len(train) < config.min_train_rows or target.empty:
                continue
            t0 = time.perf_counter()
            model = trainer(train, cutoff, config, symbol)
            predicted = model.predict_frame(target)
            summaries.append(_summary(model, train, predicted, time.perf_counter() - t0, symbol))
            predictions.append(predicted)
            models.append(model)
    if predictions:
        out = pd.concat(predictions, ignore_index=True)
    else:
        out = pd.DataFrame({c: pd.Series(dtype="float64") for c in PREDICTION_COLUMNS})
    out = out[list(PREDICTION_COLUMNS)].sort_values(["symbol", "trade_date"], ignore_index=True)
    return WalkForwardResult(
        horizon=config.horizon,
        config=config,
        predictions=out,
        cutoffs=summaries,
        models=models,
        seconds=time.perf_counter() - started,
    )


def walk_forward_all(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    config: WalkForwardConfig | None = None,
    horizons: tuple[int, ...] = HORIZONS,
    *,
    trainer: Trainer | None = None,
) -> dict[int, WalkForwardResult]:
    """`walk_forward` for every horizon with the same settings (embargo at least each horizon)."""
    config = config or WalkForwardConfig()
    return {h: walk_forward(features, labels, config.for_horizon(h), trainer=trainer) for h in horizons}


def train_at_cutoff(
    features: pd.DataFrame, labels: pd.DataFrame, config: WalkForwardConfig, cutoff: date
) -> list[TrainedModel]:
    """The production step: the model(s) a walk-forward would train at `cutoff` (one pooled, or one per symbol)."""
    panel = prepare_panel(features, labels, config)
    c = pd.Timestamp(cutoff)
    history = pd.Timedelta(days=round(365.25 * config.min_train_years))
    train = panel[panel["label"].notna() & (panel["label_end"] <= c)]
    if config.mode == "pooled":
        enough = len(train) >= config.min_train_rows and panel["trade_date"].min() + history <= c
        return [train_model(train, cutoff, config)] if enough else []
    first = panel.groupby("symbol")["trade_date"].min()
    return [
        train_model(rows, cutoff, config, str(symbol))
        for symbol, rows in train.groupby("symbol", sort=True)
        if len(rows) >= config.min_train_rows and first[symbol] + history <= c
    ]


__all__ = [
    "PREDICTION_COLUMNS",
    "CutoffSummary",
    "Mode",
    "WalkForwardConfig",
    "WalkForwardResult",
    "cutoff_schedule",
    "model_columns",
    "model_name",
    "prepare_panel",
    "train_at_cutoff",
    "train_model",
    "walk_forward",
    "walk_forward_all",
]
