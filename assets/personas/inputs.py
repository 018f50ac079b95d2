"""What the persona builders read: five frames and the universe, each with a documented column contract.

The lead wires the real tables (gold signals, `fct_features_daily`, `fct_prices_daily`, `fct_energy_daily`, the
evaluation's metrics) into `PersonaInputs`; tests build synthetic frames that follow the same contracts. A frame
that misses a required column is refused with the frame's name and the missing columns, so a renamed mart
column fails loudly instead of silently turning every light yellow. Known mart spellings are accepted as aliases
(`return_1d` for `ret_1d`, `wti_roll_yield_annualized` for `wti_roll_yield`, ...).

Dates are normalised to `datetime64[ns]` (midnight) so the builders compare them with `pd.Timestamp(day)`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from assets.personas.common import frame_records
from assets.signals.contract import SignalRow
from resources.errors import NexusError
from resources.universe import Universe, default_universe

T = TypeVar("T")


class PersonaInputError(NexusError):
    """An input frame does not follow its contract (missing columns, bad values)."""


class FrameContract(BaseModel):
    """The columns a frame must (and may) have, with what each means."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    required: dict[str, str] = Field(description="column -> meaning; the frame is refused without them")
    optional: dict[str, str] = Field(default_factory=dict, description="added as nulls when absent")
    aliases: dict[str, str] = Field(default_factory=dict, description="accepted spelling -> contract column")
    date_columns: tuple[str, ...] = ()
    string_columns: tuple[str, ...] = ()

    def normalize(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy with aliases renamed, optional columns present, dates as datetime64 and numbers as floats."""
        if not isinstance(frame, pd.DataFrame):
            raise PersonaInputError(f"{self.name}: expected a pandas DataFrame, got {type(frame).__name__}")
        renames = {a: c for a, c in self.aliases.items() if a in frame.columns and c not in frame.columns}
        out = frame.rename(columns=renames).copy()
        missing = [c for c in self.required if c not in out.columns]
        if missing:
            raise PersonaInputError(
                f"{self.name}: missing required columns {missing} (has {sorted(map(str, out.columns))})"
            )
        for column in self.optional:
            if column not in out.columns:
                out[column] = None if column in self.string_columns else np.nan
        for column in self.date_columns:
            if column in out.columns:
                try:
                    out[column] = pd.to_datetime(out[column]).dt.tz_localize(None).dt.normalize()
                except (TypeError, ValueError) as exc:
                    raise PersonaInputError(f"{self.name}: column {column} is not a date: {exc}") from None
        for column in out.columns:
            # pandas' Arrow-backed strings make every row selection (take) several times slower than plain
            # Python strings, and the builders select rows per item: text columns are held as objects
            if isinstance(out[column].dtype, pd.StringDtype):
                out[column] = out[column].astype(object)
        for column in (*self.required, *self.optional):
            if column in self.date_columns or column in self.string_columns:
                continue
            if column in out.columns and not pd.api.types.is_numeric_dtype(out[column]):
                try:
                    out[column] = pd.to_numeric(out[column]).astype("float64")
                except (TypeError, ValueError) as exc:
                    raise PersonaInputError(f"{self.name}: column {column} is not numeric: {exc}") from None
        # The builders select rows and columns thousands of times a run: one block per dtype (instead of one per
        # column added above) makes a row selection one take per dtype, and plain Python column labels make a
        # column lookup skip Arrow's scalar boxing (both a third of the builders' pandas time; same values).
        out.columns = pd.Index(list(out.columns), dtype=object)
        return out._consolidate()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "required": dict(self.required), "optional": dict(self.optional)}


_SIGNAL_STRINGS = (
    "symbol",
    "direction",
    "regime",
    "sentiment_label",
    "drawdown_state",
    "model_version",
    "feature_snapshot_hash",
    "run_id",
)


def _signal_contract() -> FrameContract:
    """Built from `SignalRow`, so a change of the signals contract changes what personas require."""
    required: dict[str, str] = {}
    optional: dict[str, str] = {}
    for name, field in SignalRow.model_fields.items():
        meaning = field.description or name
        (required if field.is_required() else optional)[name] = meaning
    return FrameContract(
        name="signals",
        required=required,
        optional=optional,
        date_columns=("signal_date",),
        string_columns=(*_SIGNAL_STRINGS, "decision_at"),
    )


SIGNALS = _signal_contract()

FEATURES = FrameContract(
    name="features",
    required={
        "symbol": "instrument symbol (universe)",
        "trade_date": "day D; every value known at D's decision time",
        "asset_class": "equity, rates, fx, commodity, volatility or crypto",
        "close": "price (yield for rates) as known at D",
        "ret_20d": "log return over 20 trading days",
        "ret_250d": "log return over 250 trading days (12 months)",
        "rvol_20d": "annualised realised volatility over 20 days",
        "dist_ma200": "close / 200-day mean - 1",
        "drawdown": "close / running peak - 1 (<= 0)",
        "cot_spec_z52": "52-week z-score of speculators' net share of open interest (sign-adjusted)",
        "cot_spec_net_share": "speculators' net position as a share of open interest (sign-adjusted)",
        "cot_index": "speculators' net position within its 3-year range, 0..100",
        "vix": "VIX close (market-wide)",
        "vix_pct_1y": "VIX percentile over the past year, 0..1 (market-wide)",
    },
    aliases={
        "return_20d": "ret_20d",
        "realized_vol_20d": "rvol_20d",
        "distance_from_200d_mean": "dist_ma200",
    },
    date_columns=("trade_date",),
    string_columns=("symbol", "asset_class"),
)

PRICES = FrameContract(
    name="prices",
    required={
        "symbol": "instrument symbol",
        "trade_date": "day D",
        "close": "price as known at D",
        "ret_1d": "one-day log return",
    },
    aliases={"return_1d": "ret_1d"},
    date_columns=("trade_date",),
    string_columns=("symbol",),
)

ENERGY = FrameContract(
    name="energy",
    required={
        "trade_date": "day D (one row per trading day)",
        "wti_roll_yield": "annualised WTI roll yield 12 x ln(c1/c2); > 0 is backwardation",
        "wti_basis": "WTI Cushing spot - front future ($/bbl)",
        "ng_roll_yield": "annualised Henry Hub roll yield",
        "ng_basis": "Henry Hub spot - front future ($/MMBtu)",
    },
    optional={
        "wti_c1": "WTI contract 1 ($/bbl)",
        "wti_c2": "WTI contract 2",
        "wti_c3": "WTI contract 3",
        "wti_c4": "WTI contract 4",
        "wti_c1_c2": "wti_c1 - wti_c2 ($/bbl)",
    },
    aliases={
        "wti_roll_yield_annualized": "wti_roll_yield",
        "ng_roll_yield_annualized": "ng_roll_yield",
        "wti_c1_c2_spread": "wti_c1_c2",
    },
    date_columns=("trade_date",),
)

TRACK_RECORD = FrameContract(
    name="track_record",
    required={
        "symbol": "instrument symbol (or ALL for the pooled row)",
        "horizon": "trading days ahead",
        "n": "out-of-sample predictions evaluated",
        "hit_rate": "share of calls with the right sign, out of sample",
        "balanced_accuracy": "mean of the UP and DOWN recalls (0.5 = chance)",
        "brier": "multiclass Brier score (lower is better)",
        "ic": "rank correlation of the score with the realised return",
    },
    optional={"start": "first out-of-sample date", "end": "last out-of-sample date"},
    string_columns=("symbol", "start", "end"),
)

LEDGER_POSITIONS = FrameContract(
    name="ledger_positions",
    required={
        "symbol": "instrument symbol",
        "trade_date": "day t of the paper-trading ledger",
        "position": "signed fraction of capital held after the close of t",
        "pnl": "P&L of t after costs, as a fraction of capital",
    },
    date_columns=("trade_date",),
    string_columns=("symbol",),
)

LEDGER_PORTFOLIO = FrameContract(
    name="ledger_portfolio",
    required={
        "trade_date": "day t of the paper-trading ledger",
        "pnl": "the book's P&L of t after costs, as a fraction of capital",
        "equity": "the book's equity after t (compounded from 1.0)",
        "drawdown": "equity / running peak - 1 (<= 0)",
    },
    date_columns=("trade_date",),
)

SCORE_PARTS = FrameContract(
    name="score_parts",
    required={
        "symbol": "instrument symbol",
        "signal_date": "day D of the signal",
        "horizon": "trading days ahead",
        "model_part": "the model's share of the signal's combined score (its weight x rise minus fall probability)",
        "rules_part": "the rule signals' share of the combined score (weights learned from the past)",
    },
    date_columns=("signal_date",),
    string_columns=("symbol",),
)

CONTRACTS: dict[str, FrameContract] = {
    c.name: c
    for c in (SIGNALS, FEATURES, PRICES, ENERGY, TRACK_RECORD, LEDGER_POSITIONS, LEDGER_PORTFOLIO, SCORE_PARTS)
}


def _check_signals(frame: pd.DataFrame) -> None:
    """Vectorised checks of what the personas rely on (full row validation is the signals stage's job)."""
    if frame.empty:
        return
    bad_dir = ~frame["direction"].isin(["UP", "DOWN", "FLAT"])
    if bad_dir.any():
        raise PersonaInputError(f"signals: direction must be UP, DOWN or FLAT ({int(bad_dir.sum())} rows are not)")
    for column in ("probability", "prob_up", "prob_flat", "prob_down", "confidence", "regime_probability"):
        values = frame[column]
        if values.isna().any() or ((values < 0) | (values > 1)).any():
            raise PersonaInputError(f"signals: {column} must be a probability in [0, 1] without nulls")
    dupes = frame.duplicated(["symbol", "signal_date", "horizon"])
    if dupes.any():
        raise PersonaInputError(f"signals: {int(dupes.sum())} duplicate (symbol, signal_date, horizon) rows")


class PersonaInputs(BaseModel):
    """Everything a persona may read for a day: the frames (normalised to their contracts) and the universe.

    Frames may hold history; each builder selects what it needs for its day (the day's signals, the features
    known at the day, a price window for correlations and charts, the track record as evaluated). Build new inputs
    with `PersonaInputs(...)`: `model_copy(update=...)` skips the normalisation and is only safe with frames that
    are already normalised (taken from another `PersonaInputs`).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    signals: pd.DataFrame
    features: pd.DataFrame
    prices: pd.DataFrame
    energy: pd.DataFrame = Field(default_factory=lambda: pd.DataFrame(columns=list(ENERGY.required)))
    track_record: pd.DataFrame = Field(default_factory=lambda: pd.DataFrame(columns=list(TRACK_RECORD.required)))
    ledger_positions: pd.DataFrame = Field(
        default_factory=lambda: LEDGER_POSITIONS.normalize(pd.DataFrame(columns=list(LEDGER_POSITIONS.required)))
    )
    ledger_portfolio: pd.DataFrame = Field(
        default_factory=lambda: LEDGER_PORTFOLIO.normalize(pd.DataFrame(columns=list(LEDGER_PORTFOLIO.required)))
    )
    score_parts: pd.DataFrame = Field(
        default_factory=lambda: SCORE_PARTS.normalize(pd.DataFrame(columns=list(SCORE_PARTS.required))),
        description="each signal's combined score split into model and rules (score_parts.py); empty: unknown",
    )
    universe: Universe = Field(
        default_factory=default_universe,
        description="the settings' universe (passed in by load_persona_inputs); the shipped file when left out",
    )
    simulated: bool = Field(False, description="the lake was built (at least in part) from the simulated publisher")
    _memo: dict[tuple[Any, ...], tuple[tuple[Any, ...], Any]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, contract in CONTRACTS.items():
            if name in data and data[name] is not None:
                data[name] = contract.normalize(data[name])
            elif name in data:
                data.pop(name)
        if "signals" in data:
            _check_signals(data["signals"])
            data["signals"]["horizon"] = data["signals"]["horizon"].astype("int64")
        if "score_parts" in data and not data["score_parts"].empty:
            data["score_parts"]["horizon"] = data["score_parts"]["horizon"].astype("int64")
        if "track_record" in data and not data["track_record"].empty:
            data["track_record"]["horizon"] = data["track_record"]["horizon"].astype("int64")
        return data

    def memo(self, key: tuple[Any, ...], depends: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """`compute()` once per key while the objects it depends on are the same ones (a `model_copy` with other
        frames shares this cache but not those frames, so it computes its own). Every persona of every day asks
        for the same selections; results are shared, so callers must not change them."""
        hit = self._memo.get(key)
        if (
            hit is not None
            and len(hit[0]) == len(depends)
            and all(a is b for a, b in zip(hit[0], depends, strict=True))
        ):
            return hit[1]
        value = compute()
        self._memo[key] = (depends, value)
        return value

    # -- selections every builder uses --------------------------------------------------------------------------
    def signals_on(self, day: date, horizon: int | None = None) -> pd.DataFrame:
        """The day's signal rows (one horizon or all), sorted by symbol and horizon.

        Vectorised over days: the whole frame is sorted once (date, symbol, horizon; stable, so each day's rows are
        that day's rows sorted by symbol and horizon) and cut into days, instead of a selection and a sort per call
        (each persona asks for each day's signals several times). Callers get their own copy.
        """
        by_day = self.memo(("signals_by_day",), (self.signals,), lambda: _split_by_day(self.signals))
        rows = by_day.get(pd.Timestamp(day))
        if rows is None:
            rows = self.signals.iloc[[]].reset_index(drop=True)
        if horizon is not None:
            return rows[rows["horizon"] == horizon].reset_index(drop=True)
        return rows.copy()

    def signal_records(self, day: date, horizon: int | None = None) -> list[dict[str, Any]]:
        """The rows of `signals_on(day, horizon)` as records (column -> value), in its order: what builders that read
        a few values per row use instead of pandas per row. Made once per day and horizon, shared by every persona
        (callers must not change them)."""
        return self.memo(
            ("signal_records", day, horizon), (self.signals,), lambda: frame_records(self.signals_on(day, horizon))
        )

    def signals_by_symbol(self, day: date, horizon: int) -> dict[str, dict[str, Any]]:
        """`signal_records(day, horizon)` by symbol: one row each (the inputs refuse duplicate keys)."""
        return {r["symbol"]: r for r in self.signal_records(day, horizon) if not pd.isna(r["symbol"])}

    def prices_wide(self, day: date, lookback_days: int, value: str, symbols: list[str] | None = None) -> pd.DataFrame:
        """`prices_until(day, lookback_days).pivot_table(index="trade_date", columns="symbol", values=value,
        aggfunc="last")` (optionally of `symbols` only), cut from one pivot of the whole history: dates and symbols
        without any value in the window are left out, as pivot_table leaves them out."""
        wide = self.memo(
            ("prices_wide", value),
            (self.prices,),
            lambda: self.prices.pivot_table(index="trade_date", columns="symbol", values=value, aggfunc="last"),
        )
        ts = pd.Timestamp(day)
        dates = wide.index
        window = wide[(dates <= ts) & (dates > ts - pd.Timedelta(days=lookback_days))]
        if symbols is not None:
            window = window[[s for s in window.columns if s in set(symbols)]]
        return window.dropna(how="all").dropna(how="all", axis=1)

    def features_asof(self, day: date, max_age_days: int = 7) -> pd.DataFrame:
        """Per symbol, the latest feature row dated on or before `day` (and not older than `max_age_days`).

        Every persona asks for the same day several times: the answer is kept for the frame it was computed from
        (a copy with other features, from `model_copy`, computes its own), and each caller gets its own copy.
        """
        ordered = self.memo(("features_by_symbol",), (self.features,), lambda: _BySymbol(self.features))
        rows = self.memo(
            ("features_asof", day, max_age_days), (self.features,), lambda: ordered.asof(day, max_age_days)
        )
        return rows.copy()

    def prices_until(self, day: date, lookback_days: int | None = None) -> pd.DataFrame:
        """Price rows dated on or before `day` (optionally only the last `lookback_days` calendar days)."""
        ts = pd.Timestamp(day)
        # sorted once (stable, so a selection of the sorted frame is the sorted selection)
        ordered = self.memo(
            ("prices_sorted",),
            (self.prices,),
            lambda: self.prices.sort_values(["symbol", "trade_date"], kind="stable"),
        )
        keep = (ordered["trade_date"] <= ts).to_numpy(copy=True)
        if lookback_days is not None:
            keep &= (ordered["trade_date"] > ts - pd.Timedelta(days=lookback_days)).to_numpy()
        return ordered[keep].reset_index(drop=True)

    def energy_until(self, day: date) -> pd.DataFrame:
        ts = pd.Timestamp(day)
        return self.energy[self.energy["trade_date"] <= ts].sort_values("trade_date", kind="stable")

    def track_record_for(self, symbol: str, horizon: int) -> dict[str, Any] | None:
        tr = self.track_record
        if tr.empty:
            return None
        # the last row of each (symbol, horizon), indexed once
        last_of = self.memo(
            ("track_record_last",),
            (tr,),
            lambda: {
                (str(k[0]), int(k[1])): int(v[-1])
                for k, v in tr.groupby(["symbol", "horizon"], sort=False).indices.items()
            },
        )
        position = last_of.get((symbol, horizon))
        return None if position is None else tr.iloc[position].to_dict()

    def ledger_until(self, day: date) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The paper-trading ledger as known at `day`: (positions, portfolio) rows dated on or before it, sorted."""
        ts = pd.Timestamp(day)
        # sorted once (stable, so the rows up to a day of the sorted frame are those rows sorted), cut per day
        positions, portfolio = self.memo(
            ("ledger_sorted",),
            (self.ledger_positions, self.ledger_portfolio),
            lambda: (
                self.ledger_positions.sort_values(["symbol", "trade_date"], kind="stable"),
                self.ledger_portfolio.sort_values("trade_date", kind="stable"),
            ),
        )
        return (
            positions[(positions["trade_date"] <= ts).to_numpy()].reset_index(drop=True),
            portfolio[(portfolio["trade_date"] <= ts).to_numpy()].reset_index(drop=True),
        )

    def asset_class(self, symbol: str) -> str:
        try:
            return self.universe.instrument(symbol).asset_class
        except KeyError:
            return "other"

    def name(self, symbol: str) -> str:
        """The instrument's name as a reader should take its directions: a yield instrument's signals, regimes and
        returns are those of the bond's price (returns are -duration x the change in yield), so "US 10-year
        Treasury yield ... sees a rise" would read as rising yields, the opposite of what it says."""
        try:
            instrument = self.universe.instrument(symbol)
        except KeyError:
            return symbol
        if instrument.price.kind == "yield":
            return f"{instrument.name} (as a bond price, which rises when the yield falls)"
        return instrument.name


def _split_by_day(signals: pd.DataFrame) -> dict[pd.Timestamp, pd.DataFrame]:
    ordered = signals.sort_values(["signal_date", "symbol", "horizon"], kind="stable")
    return {pd.Timestamp(day): rows.reset_index(drop=True) for day, rows in ordered.groupby("signal_date", sort=False)}


class _BySymbol:
    """`_asof` for any day from one stable sort of the frame by symbol and date: a day's answer is the last row of
    each symbol among the rows in its window, found with numpy instead of a filter, a sort and a groupby per day."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame.sort_values(["symbol", "trade_date"], kind="stable")
        self.dates = pd.DatetimeIndex(self.frame["trade_date"])
        codes, _ = pd.factorize(self.frame["symbol"])  # -1 for a missing symbol, which groupby leaves out
        self.codes = codes

    def asof(self, day: date, max_age_days: int) -> pd.DataFrame:
        ts = pd.Timestamp(day)
        dates = self.dates
        inside = np.flatnonzero((dates <= ts) & (dates >= ts - pd.Timedelta(days=max_age_days)) & (self.codes >= 0))
        if not len(inside):
            return self.frame.iloc[[]].reset_index(drop=True)
        codes = self.codes[inside]
        last = inside[np.append(codes[1:] != codes[:-1], True)]  # rows are grouped by symbol: each group's last
        return self.frame.iloc[last].reset_index(drop=True)


def contracts_description() -> dict[str, dict[str, Any]]:
    """The input contracts as plain data (for docs and the integrator)."""
    return {name: c.describe() for name, c in CONTRACTS.items()}
