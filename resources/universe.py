"""The universe file's contract: instruments, their price series and CFTC markets, and the feature series.

Sources read it to decide what to fetch; marts read it (as `dim_instruments`) to know what to build. A user adds
an instrument by editing `resources/config/universe.yaml`; a mistake is reported with its location in the file.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from resources.errors import ConfigError
from resources.settings import PROJECT_ROOT

PriceSource = Literal["fred", "eia", "cboe", "coinmetrics"]
CotReport = Literal["legacy", "tff", "disaggregated"]
_CODE = re.compile(r"^[0-9A-Z]{6}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceSeries(_Strict):
    source: PriceSource
    series: str = Field(min_length=1)
    field: str | None = Field(default=None, description="metric within the series (Coin Metrics PriceUSD)")
    kind: Literal["level", "yield"] = "level"
    duration: float | None = Field(default=None, gt=0, description="modified duration for yield instruments")

    @model_validator(mode="after")
    def _yield_needs_duration(self) -> PriceSeries:
        if self.kind == "yield" and self.duration is None:
            raise ValueError("a yield series needs a duration (for returns)")
        return self


class CotMarket(_Strict):
    market_code: str = Field(description="CFTC contract market code; markets are keyed by code, never by name")
    name: str = Field(description="a readable label; CFTC renames markets, so it is never used to match")
    report: CotReport
    sign: Literal[1, -1] = 1

    @field_validator("market_code")
    @classmethod
    def _code(cls, value: str) -> str:
        value = value.strip().upper()
        if not _CODE.match(value):
            raise ValueError(f"CFTC market code {value!r} must be 6 letters or digits")
        return value


class Instrument(_Strict):
    symbol: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,15}$")
    name: str
    asset_class: Literal["equity", "rates", "fx", "commodity", "volatility", "crypto"]
    calendar: Literal["NYSE", "CRYPTO"] = "NYSE"
    price: PriceSeries
    cot: CotMarket | None = None


class EiaFeatures(_Strict):
    weekly_petroleum: list[str] = Field(default_factory=list)
    weekly_gas_storage: list[str] = Field(default_factory=list)
    daily_spot: list[str] = Field(default_factory=list)
    daily_futures: list[str] = Field(default_factory=list)


class CoinMetricsFeatures(_Strict):
    assets: list[str] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=list)


class Features(_Strict):
    fred: list[str] = Field(default_factory=list)
    eia: EiaFeatures = Field(default_factory=EiaFeatures)
    cboe: list[str] = Field(default_factory=list)
    coinmetrics: CoinMetricsFeatures = Field(default_factory=CoinMetricsFeatures)


class Universe(_Strict):
    instruments: list[Instrument]
    positioning_only: list[CotMarket] = Field(default_factory=list)
    features: Features = Field(default_factory=Features)

    @model_validator(mode="after")
    def _unique(self) -> Universe:
        symbols = [i.symbol for i in self.instruments]
        dupes = {s for s in symbols if symbols.count(s) > 1}
        if dupes:
            raise ValueError(f"duplicate instrument symbols: {sorted(dupes)}")
        codes = [m.market_code for m in self.cot_markets()]
        dupes = {c for c in codes if codes.count(c) > 1}
        if dupes:
            raise ValueError(f"a CFTC market code appears twice: {sorted(dupes)}")
        return self

    def instrument(self, symbol: str) -> Instrument:
        for inst in self.instruments:
            if inst.symbol == symbol:
                return inst
        raise KeyError(symbol)

    def cot_markets(self, report: CotReport | None = None) -> list[CotMarket]:
        """Every CFTC market to ingest (instruments' and positioning-only), optionally for one report type."""
        markets = [i.cot for i in self.instruments if i.cot] + list(self.positioning_only)
        return [m for m in markets if report is None or m.report == report]

    def series_for(self, source: PriceSource) -> list[str]:
        """Series ids to fetch from a source: instrument prices plus feature series, without duplicates."""
        wanted = [i.price.series for i in self.instruments if i.price.source == source]
        if source == "fred":
            wanted += self.features.fred
        elif source == "cboe":
            wanted += self.features.cboe
        elif source == "eia":
            e = self.features.eia
            wanted += e.weekly_petroleum + e.weekly_gas_storage + e.daily_spot + e.daily_futures
        elif source == "coinmetrics":
            wanted += self.features.coinmetrics.assets
        return list(dict.fromkeys(wanted))


def load_universe(path: Path) -> Universe:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"universe file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"universe file {path} is not valid YAML: {exc}") from None
    try:
        return Universe.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ConfigError(f"universe file {path} is invalid: {problems}") from None


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> Universe:
    return load_universe(Path(path))


def default_universe() -> Universe:
    """The shipped universe (resources/config/universe.yaml, the settings' default `universe_file`)."""
    return get_universe(PROJECT_ROOT / "resources" / "config" / "universe.yaml")


def get_universe(path: Path) -> Universe:
    """The universe in `path` (the settings' `universe_file`, passed in), re-read when the file changes."""
    return _cached(str(path), path.stat().st_mtime if path.exists() else 0.0)
