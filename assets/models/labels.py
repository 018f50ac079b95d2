"""Direction labels: the class of a forward return beyond a volatility-scaled flat band, and when it becomes known.

A raw forward return mixes signal with the instrument's own noise; scaling the flat band by the volatility known
at D (`rvol_20d`) makes UP/DOWN mean "a move the instrument does not make by chance most days", comparably across a
quiet FX pair and bitcoin. The label's end date (D + h trading days of the symbol's calendar) is what purging needs:
a label is only known at its end, so no model may train on it before then.

Default band `k = 0.25`: under roughly normal returns it leaves about 20 percent of rows FLAT and 40 percent in each
direction. A narrow band keeps most rows directional, so a modest edge (a 53 to 55 percent hit rate) stays learnable
and the trading signal (p_up - p_down) keeps most of its sample; a band giving equal thirds (k ~ 0.43) would throw the
direction of a third of the rows away, and real returns (fat-tailed, with rvol_20d lagging vol spikes) put even more
mass inside it. FLAT then only holds moves that are indistinguishable from zero.
"""

from __future__ import annotations

from datetime import date, time
from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from resources.reference import trading_days_table
from resources.settings import DEFAULT_DECISION_TIME_UTC

HORIZONS: tuple[int, ...] = (1, 2, 3, 5, 7, 10)
CLASSES: tuple[int, ...] = (-1, 0, 1)  # DOWN, FLAT, UP; a model's class index i is CLASSES[i]
CLASS_NAMES: tuple[str, ...] = ("DOWN", "FLAT", "UP")
Calendar = Literal["NYSE", "CRYPTO"]
PERIODS_PER_YEAR: dict[str, int] = {"NYSE": 252, "CRYPTO": 365}
LABEL_COLUMNS: tuple[str, ...] = ("fwd_ret", "sigma_daily", "band", "label", "label_end")


class LabelConfig(BaseModel):
    """How a forward return becomes a class. `k` scales the flat band in units of sigma * sqrt(h)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k: float = Field(default=0.25, ge=0.0, le=3.0, description="flat band half-width in units of sigma*sqrt(h)")
    decision_time_utc: time = Field(
        default=DEFAULT_DECISION_TIME_UTC,
        description="the settings' decision time of day D (a label published after it is known from D+1)",
    )


def label_column(horizon: int) -> str:
    """Name of the labels mart's column for a horizon (fwd_ret_5d)."""
    if horizon not in HORIZONS:
        raise ValueError(f"horizon {horizon} is not one of {HORIZONS}")
    return f"fwd_ret_{horizon}d"


def normalize_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with `symbol` as str and `trade_date` as datetime64[ns] at midnight (marts may give python dates)."""
    out = frame.copy()
    out["symbol"] = out["symbol"].astype(str)
    out["trade_date"] = pd.to_datetime(out["trade_date"]).dt.normalize().astype("datetime64[ns]")
    return out


@lru_cache(maxsize=16)
def _calendar_days(calendar: str, first_year: int, last_year: int) -> np.ndarray:
    if calendar not in PERIODS_PER_YEAR:
        raise ValueError(f"unknown calendar {calendar!r}; expected one of {sorted(PERIODS_PER_YEAR)}")
    table = trading_days_table(date(first_year, 1, 1), date(last_year, 12, 31)).to_pandas()
    days = table.loc[table["calendar"] == calendar, "trade_date"]
    return np.sort(pd.to_datetime(days).to_numpy(dtype="datetime64[ns]"))


def trading_days(calendar: str, start: date | pd.Timestamp, end: date | pd.Timestamp) -> np.ndarray:
    """Trading days of a calendar (same rule as the `reference/trading_days` table), whole years around start..end."""
    return _calendar_days(calendar, pd.Timestamp(start).year - 1, pd.Timestamp(end).year + 1)


def shift_trading_days(dates: pd.Series | np.ndarray, calendar: str, n: int) -> np.ndarray:
    """Each date moved by n trading days of the calendar (n > 0: the n-th trading day after; n < 0: before).

    A date that is not a trading day counts from where it sits: one trading day after a Saturday is Monday.
    """
    values = pd.to_datetime(pd.Series(dates)).to_numpy(dtype="datetime64[ns]")
    if len(values) == 0:
        return values
    days = trading_days(calendar, pd.Timestamp(values.min()), pd.Timestamp(values.max()))
    if n >= 0:
        pos = np.searchsorted(days, values, side="right") - 1 + n
    else:
        pos = np.searchsorted(days, values, side="left") + n
    if pos.min() < 0 or pos.max() >= len(days):
        raise ValueError("shift leaves the calendar's range")
    return days[pos]


def shift_by_calendar(frame: pd.DataFrame, n: int) -> np.ndarray:
    """`trade_date` moved by n trading days of each row's own calendar (column `calendar`)."""
    out = np.empty(len(frame), dtype="datetime64[ns]")
    cal = frame["calendar"].astype(str).to_numpy()
    dates = frame["trade_date"].to_numpy(dtype="datetime64[ns]")
    for name in np.unique(cal):
        mask = cal == name
        out[mask] = shift_trading_days(dates[mask], name, n)
    return out


def known_column(horizon: int) -> str:
    """Name of the labels mart's column saying when a horizon's label became known (label_known_at_5d)."""
    return f"label_known_at_{horizon}d"


def _known_date(known_at: pd.Series, decision: time) -> np.ndarray:
    """The first date whose decision time (`decision`, UTC) is at or after `known_at` (a label may be trained on
    from then)."""
    stamps = pd.to_datetime(known_at, utc=True)
    day = stamps.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    after = stamps.dt.tz_convert("UTC").dt.time > decision
    return (day + pd.to_timedelta(after.astype("int64"), unit="D")).to_numpy(dtype="datetime64[ns]")


def horizon_labels(
    features: pd.DataFrame, labels: pd.DataFrame, horizon: int, config: LabelConfig | None = None
) -> pd.DataFrame:
    """Labels for one horizon, aligned row by row with `features` (normalized keys, same order).

    Columns: `fwd_ret` (from the labels mart), `sigma_daily` (rvol_20d / sqrt(252 or 365) by calendar),
    `band` (k * sigma * sqrt(h)), `label` (Int8: -1, 0, +1; null when the return or sigma is unknown) and
    `label_end` (D + h trading days of the symbol's calendar, or later when the labels frame says the label was
    only published later (`label_known_at_<h>d`): the first moment the label may be trained on).
    """
    config = config or LabelConfig()
    column = label_column(horizon)
    feats = normalize_keys(features[["symbol", "trade_date", "calendar", "rvol_20d"]])
    known = known_column(horizon)
    keep = ["symbol", "trade_date", column] + ([known] if known in labels.columns else [])
    labs = normalize_keys(labels[keep])
    if labs.duplicated(["symbol", "trade_date"]).any():
        raise ValueError("labels have duplicate (symbol, trade_date) rows")
    merged = feats.merge(labs, on=["symbol", "trade_date"], how="left", validate="many_to_one")
    ppy = merged["calendar"].map(PERIODS_PER_YEAR)
    if ppy.isna().any():
        bad = sorted(merged.loc[ppy.isna(), "calendar"].astype(str).unique())
        raise ValueError(f"unknown calendar(s) {bad}")
    sigma = merged["rvol_20d"].astype("float64") / np.sqrt(ppy.astype("float64"))
    band = config.k * sigma * np.sqrt(horizon)
    ret = merged[column].astype("float64")
    known = ret.notna() & band.notna()
    label = pd.Series(pd.NA, index=merged.index, dtype="Int8")
    label[known & (ret > band)] = 1
    label[known & (ret < -band)] = -1
    label[known & (ret >= -band) & (ret <= band)] = 0
    label_end = shift_by_calendar(merged, horizon)
    if known_column(horizon) in merged.columns:
        published = merged[known_column(horizon)]
        later = _known_date(published.fillna(pd.Timestamp("1970-01-01", tz="UTC")), config.decision_time_utc)
        label_end = np.where(published.notna().to_numpy(), np.maximum(label_end, later), label_end)
    return pd.DataFrame(
        {
            "symbol": merged["symbol"].to_numpy(),
            "trade_date": merged["trade_date"].to_numpy(),
            "horizon": np.int16(horizon),
            "fwd_ret": ret.to_numpy(),
            "sigma_daily": sigma.to_numpy(),
            "band": band.to_numpy(),
            "label": label.to_numpy(),
            "label_end": label_end,
        }
    )


def build_labels(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    config: LabelConfig | None = None,
    horizons: tuple[int, ...] = HORIZONS,
) -> pd.DataFrame:
    """Labels for every horizon, long: one row per (symbol, trade_date, horizon)."""
    parts = [horizon_labels(features, labels, h, config) for h in horizons]
    return pd.concat(parts, ignore_index=True).sort_values(["horizon", "symbol", "trade_date"], ignore_index=True)


__all__ = [
    "CLASSES",
    "CLASS_NAMES",
    "HORIZONS",
    "LABEL_COLUMNS",
    "PERIODS_PER_YEAR",
    "LabelConfig",
    "build_labels",
    "horizon_labels",
    "label_column",
    "normalize_keys",
    "shift_by_calendar",
    "shift_trading_days",
    "trading_days",
]
