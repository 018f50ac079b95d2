"""CFTC's Commitments of Traders, published the way CFTC publishes them, from the simulated world.

Two wire formats carry the same numbers:
- the Public Reporting Environment (Socrata) at `/resource/<dataset-id>.json` for the six report datasets (Legacy
  6dca-aqww / jun7-fc8e, Disaggregated 72hh-3qpy / kh3c-gbw2, TFF gpe5-46if / yw9f-hn96): JSON arrays with every
  value a string, SoQL `$where` (comparisons, `in(...)`, `between`, `is null`, `and`/`or`/`not`), `$order`,
  `$limit` (default 1000), `$offset`, `$select` (plain columns), `field=value` filters, and Socrata's error object
  with HTTP 400 when a query cannot run;
- the annual text files in their zip archives (`deacot2024.zip` holding `annual.txt`, `fut_fin_txt_2024.zip`
  holding `FinFutYY.txt`, `fut_disagg_txt_2024.zip` holding `f_year.txt`, and the combined `deahistfo`,
  `com_fin_txt_`, `com_disagg_txt_` ones) with CFTC's full headers, padding and CRLF, served at
  `/files/dea/history/<name>.zip` and written to disk by `write_files`.

Positions: `world.positioning` gives, per market code and report Tuesday, open interest and the speculators' net
share (`spec_net_share`). Each report splits open interest into its trader categories so that the speculator
category (Legacy non-commercials, TFF leveraged funds, Disaggregated managed money) holds exactly that net share
(up to one contract of rounding), the flow category (TFF asset managers; Disaggregated swap dealers) follows
`asset_mgr_net_share`, other reportables and non-reportables hold small noisy nets, and the commercial side
(Legacy commercials, TFF dealers, Disaggregated producer/merchants) takes the rest: on each side, the categories'
positions plus spreads plus non-reportables equal open interest, as in CFTC's reports. Combined reports add a
per-market options share to open interest. TFF and Disaggregated histories start on 13 June 2006, as CFTC's do.

Publication: a report is public from its release (CFTC's calendar, `resources.sources.cot.calendar`); CFTC
revises a past week now and then (`revisions`): from the revision's release day on, the API and the files show
the corrected values. Market names follow CFTC's renames (the 8 February 2022 short names, the New York Cotton
Exchange becoming ICE Futures U.S.), so names are values, never keys. Deterministic and prefix-stable: a value
never depends on the range or as-of asked for, only on which releases and revisions are public by then.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from resources.simulated.publisher import Request, Response, SimulatedPublisher, route
from resources.simulated.world import COT_MARKETS, HORIZON, _stream, world_for
from resources.sources.base import at_new_york
from resources.sources.cot.calendar import RELEASE_TIME_NY, release_date, release_time
from resources.sources.cot.layouts import (
    LAYOUTS,
    MARKET_CODE,
    MARKET_NAME,
    REPORT_DATE_API,
    ReportKind,
    ReportLayout,
)

# ---------------------------------------------------------------------------------------------------------------
# Markets: CFTC's names (with their renames), codes and contract specifications
# ---------------------------------------------------------------------------------------------------------------
RENAME_2022 = date(2022, 2, 8)  # CFTC's short contract names appear from this report on
_START = date(1986, 1, 1)


@dataclass(frozen=True)
class Market:
    code: str
    names: tuple[tuple[date, str], ...]  # (first report date with this name, name)
    initials: str  # CFTC market code in initials, padded to 4 as in the files
    region: str
    commodity_code: str  # padded to 4 as in the files
    units: str
    subgroup: str
    commodity: str
    group: str
    listed: date = _START  # first report CFTC published for the market

    def name_on(self, day: date) -> str:
        return next(name for start, name in reversed(self.names) if day >= start)


def _m(code: str, names: tuple[tuple[date, str], ...] | str, *args: str, listed: date = _START) -> Market:
    history = ((_START, names),) if isinstance(names, str) else names
    return Market(code, history, *args, listed=listed)  # type: ignore[arg-type]


MARKETS: dict[str, Market] = {
    m.code: m
    for m in (
        _m("13874A", ((_START, "E-MINI S&P 500 STOCK INDEX - CHICAGO MERCANTILE EXCHANGE"),
                      (RENAME_2022, "E-MINI S&P 500 - CHICAGO MERCANTILE EXCHANGE")),
           "CME ", "00", "138 ", "($50 X S&P 500 INDEX)", "F20", "S&P 500 STOCK INDEX", "FINANCIAL INSTRUMENTS"),
        _m("209742", ((_START, "NASDAQ-100 STOCK INDEX (MINI) - CHICAGO MERCANTILE EXCHANGE"),
                      (RENAME_2022, "NASDAQ MINI - CHICAGO MERCANTILE EXCHANGE")),
           "CME ", "00", "209 ", "(NASDAQ 100 STOCK INDEX X $20)", "F20", "NASDAQ-100 STOCK INDEX",
           "FINANCIAL INSTRUMENTS"),
        _m("043602", ((_START, "10-YEAR U.S. TREASURY NOTES - CHICAGO BOARD OF TRADE"),
                      (RENAME_2022, "UST 10Y NOTE - CHICAGO BOARD OF TRADE")),
           "CBT ", "00", "043 ", "(CONTRACTS OF $100,000 FACE VALUE)", "F30", "10-YEAR U.S. TREASURY NOTES",
           "FINANCIAL INSTRUMENTS"),
        _m("099741", "EURO FX - CHICAGO MERCANTILE EXCHANGE",
           "CME ", "00", "099 ", "(CONTRACTS OF EUR 125,000)", "F10", "EURO FX", "FINANCIAL INSTRUMENTS"),
        _m("097741", "JAPANESE YEN - CHICAGO MERCANTILE EXCHANGE",
           "CME ", "00", "097 ", "(CONTRACTS OF JPY 12,500,000)", "F10", "JAPANESE YEN", "FINANCIAL INSTRUMENTS"),
        _m("098662", ((_START, "U.S. DOLLAR INDEX - NEW YORK COTTON EXCHANGE"),
                      (date(2007, 9, 11), "U.S. DOLLAR INDEX - ICE FUTURES U.S."),
                      (RENAME_2022, "USD INDEX - ICE FUTURES U.S.")),
           "ICUS", "01", "098 ", "(U.S. DOLLAR INDEX X $1000)", "F90", "U.S. DOLLAR INDEX", "FINANCIAL INSTRUMENTS"),
        _m("1170E1", "VIX FUTURES - CBOE FUTURES EXCHANGE",
           "E   ", "00", "117 ", "($1000 X INDEX)", "F90", "VIX", "FINANCIAL INSTRUMENTS", listed=date(2004, 7, 27)),
        _m("133741", "BITCOIN - CHICAGO MERCANTILE EXCHANGE",
           "CME ", "00", "133 ", "(5 Bitcoins)", "F85", "BITCOIN", "FINANCIAL INSTRUMENTS", listed=date(2018, 4, 10)),
        _m("146021", "ETHER CASH SETTLED - CHICAGO MERCANTILE EXCHANGE",
           "CME ", "00", "146 ", "(50 Index Points)", "F85", "ETHER", "FINANCIAL INSTRUMENTS",
           listed=date(2021, 4, 6)),
        _m("067651", ((_START, "CRUDE OIL, LIGHT SWEET - NEW YORK MERCANTILE EXCHANGE"),
                      (RENAME_2022, "WTI-PHYSICAL - NEW YORK MERCANTILE EXCHANGE")),
           "NYME", "01", "067 ", "(CONTRACTS OF 1,000 BARRELS)", "N10", "CRUDE OIL", "NATURAL RESOURCES"),
        _m("06765T", "BRENT LAST DAY - NEW YORK MERCANTILE EXCHANGE",
           "NYME", "01", "067 ", "(CONTRACTS OF 1,000 BARRELS)", "N10", "CRUDE OIL", "NATURAL RESOURCES",
           listed=date(2010, 1, 5)),
        _m("023651", ((_START, "NATURAL GAS - NEW YORK MERCANTILE EXCHANGE"),
                      (RENAME_2022, "NAT GAS NYME - NEW YORK MERCANTILE EXCHANGE")),
           "NYME", "01", "023 ", "(Contracts of 10,000 MMBTU'S)", "N13", "NATURAL GAS", "NATURAL RESOURCES"),
        _m("088691", "GOLD - COMMODITY EXCHANGE INC.",
           "CMX ", "01", "088 ", "(CONTRACTS OF 100 TROY OUNCES)", "N20", "GOLD", "NATURAL RESOURCES"),
        _m("084691", "SILVER - COMMODITY EXCHANGE INC.",
           "CMX ", "01", "084 ", "(CONTRACTS OF 5,000 TROY OUNCES)", "N20", "SILVER", "NATURAL RESOURCES"),
    )
}  # fmt: skip

FAMILIES: dict[ReportKind, tuple[str, ...]] = {
    "legacy": ("financial", "physical"),
    "tff": ("financial",),
    "disaggregated": ("physical",),
}

# ---------------------------------------------------------------------------------------------------------------
# Positions: the world's open interest and net shares, split into each report's trader categories
# ---------------------------------------------------------------------------------------------------------------
# Which world driver each category follows; the "absorber" takes the other side of everyone else.
ROLES: dict[ReportKind, dict[str, str]] = {
    "legacy": {"noncommercial": "speculator", "commercial": "absorber"},
    "tff": {
        "dealer": "absorber",
        "asset_manager": "flow",
        "leveraged_funds": "speculator",
        "other_reportable": "other",
    },
    "disaggregated": {
        "producer_merchant": "absorber",
        "swap_dealer": "flow",
        "managed_money": "speculator",
        "other_reportable": "other",
    },
}
ABSORBER_FLOOR = 0.02  # the commercial side always keeps at least this share of open interest on each side
REVISIONS_PER_YEAR = 2


def codes_for(report: ReportKind) -> list[str]:
    return [code for code, (_, family) in COT_MARKETS.items() if family in FAMILIES[report]]


def _first_report(layout: ReportLayout, code: str) -> date:
    return max(layout.history_start, MARKETS[code].listed)


@lru_cache(maxsize=8)
def _inputs(seed: int, report: ReportKind) -> pd.DataFrame:
    """The world's rows for the report's markets over the whole horizon (positions never depend on a range)."""
    frame = world_for(seed).positioning
    frame = frame[frame["code"].isin(codes_for(report))].reset_index(drop=True)
    return frame[["report_date", "code", "open_interest", "spec_net_share", "asset_mgr_net_share"]]


def _constants(seed: int, report: ReportKind, codes: pd.Series) -> dict[str, np.ndarray]:
    """Per-market base shares (gross size of each role, spreads, options share), broadcast to rows."""
    table = {}
    for code in codes.unique():
        draws = _stream(seed, f"cot/constants/{report}/{code}").uniform(size=10)
        table[code] = {
            "speculator": 0.04 + 0.06 * draws[0],
            "flow": 0.04 + 0.06 * draws[1],
            "other": 0.02 + 0.04 * draws[2],
            "nonreportable": 0.05 + 0.07 * draws[3],
            "options": 0.10 + 0.50 * draws[4],
            **{f"spread{k}": 0.002 + 0.02 * draws[5 + k] for k in range(4)},
        }
    return {key: codes.map(lambda c, key=key: table[c][key]).to_numpy() for key in next(iter(table.values()))}


def _flow_net(report: ReportKind, asset_mgr_net_share: np.ndarray) -> np.ndarray:
    """TFF asset managers hold the world's asset-manager net share; swap dealers in commodities a damped copy."""
    return asset_mgr_net_share if report == "tff" else 0.6 * asset_mgr_net_share - 0.15


def _split(
    layout: ReportLayout,
    oi: np.ndarray,
    spec: np.ndarray,
    flow: np.ndarray,
    noise: np.ndarray,
    base: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Integer positions per silver column, consistent with open interest on both sides."""
    roles = ROLES[layout.report]
    nets = {"speculator": spec, "flow": flow, "other": 0.03 * noise[:, 1], "nonreportable": 0.03 * noise[:, 2]}
    long: dict[str, np.ndarray] = {}
    short: dict[str, np.ndarray] = {}
    spread: dict[str, np.ndarray] = {}
    for k, category in enumerate(layout.categories):
        if category.spread:
            spread[category.stem] = base[f"spread{k}"] * np.clip(1 + 0.15 * noise[:, 3 + k], 0.2, None)
        role = roles[category.stem]
        if role != "absorber":
            gross = base[role] * np.clip(1 + 0.1 * noise[:, 0], 0.5, None)
            long[category.stem] = gross + np.maximum(nets[role], 0)
            short[category.stem] = gross + np.maximum(-nets[role], 0)
    gross = base["nonreportable"] * np.clip(1 + 0.1 * noise[:, 7], 0.5, None)
    long["nonreportable"] = gross + np.maximum(nets["nonreportable"], 0)
    short["nonreportable"] = gross + np.maximum(-nets["nonreportable"], 0)
    absorber = next(stem for stem, role in roles.items() if role == "absorber")
    by_role = {roles.get(stem, "nonreportable"): stem for stem in long}
    for side in (long, short):  # make room for the absorber by trimming flow, then others, then non-reportables
        deficit = np.maximum(ABSORBER_FLOOR - (1 - sum(side.values()) - sum(spread.values())), 0)
        for role in ("flow", "other", "nonreportable"):
            stem = by_role.get(role)
            if stem is not None:
                cut = np.minimum(deficit, side[stem])
                side[stem] = side[stem] - cut
                deficit = deficit - cut

    total = np.rint(oi).astype(np.int64)
    out: dict[str, np.ndarray] = {"open_interest": total}
    speculator = layout.speculator
    net = np.rint(spec * total).astype(np.int64)
    spec_long = np.rint(long[speculator] * total).astype(np.int64)
    spec_short = np.maximum(spec_long - net, 0)
    long_int = {speculator: spec_short + net}
    short_int = {speculator: spec_short}
    for stem in long:
        if stem != speculator:
            long_int[stem] = np.rint(long[stem] * total).astype(np.int64)
            short_int[stem] = np.rint(short[stem] * total).astype(np.int64)
    spread_int = {stem: np.rint(value * total).astype(np.int64) for stem, value in spread.items()}
    spreads = sum(spread_int.values())
    long_int[absorber] = total - sum(long_int.values()) - spreads
    short_int[absorber] = total - sum(short_int.values()) - spreads
    for category in layout.categories:
        out[f"{category.stem}_long"] = long_int[category.stem]
        out[f"{category.stem}_short"] = short_int[category.stem]
        if category.spread:
            out[f"{category.stem}_spread"] = spread_int[category.stem]
    out["total_reportable_long"] = total - long_int["nonreportable"]
    out["total_reportable_short"] = total - short_int["nonreportable"]
    out["nonreportable_long"] = long_int["nonreportable"]
    out["nonreportable_short"] = short_int["nonreportable"]
    return {column: out[column] for column in layout.position_columns}


def _drivers(seed: int, report: ReportKind, futures_only: bool, inputs: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """(open interest, speculator net share, flow net share, base shares) of the given world rows."""
    base = _constants(seed, report, inputs["code"])
    oi = inputs["open_interest"].to_numpy(dtype=float)
    spec = inputs["spec_net_share"].to_numpy(dtype=float)
    flow = _flow_net(report, inputs["asset_mgr_net_share"].to_numpy(dtype=float))
    if not futures_only:  # options add open interest and dilute the speculators' net share a little
        oi = oi * (1 + base["options"])
        spec = spec * 0.85
        flow = flow * 0.9
    return oi, spec, flow, base


@lru_cache(maxsize=4)
def _noise(seed: int, report: ReportKind, futures_only: bool) -> np.ndarray:
    flavour = "futures" if futures_only else "combined"
    return _stream(seed, f"cot/split/{report}/{flavour}").standard_normal((len(_inputs(seed, report)), 8))


@lru_cache(maxsize=8)
def positions(seed: int, report: ReportKind, futures_only: bool = True) -> pd.DataFrame:
    """Every report row of the horizon as first published: report_date, code, name, positions, release_at."""
    layout = LAYOUTS[report]
    inputs = _inputs(seed, report)
    oi, spec, flow, base = _drivers(seed, report, futures_only, inputs)
    split = _split(layout, oi, spec, flow, _noise(seed, report, futures_only), base)
    frame = pd.DataFrame({"report_date": inputs["report_date"].dt.date, "code": inputs["code"], **split})
    first = frame["code"].map(lambda c: _first_report(layout, c))
    frame = frame[frame["report_date"] >= first].reset_index(drop=True)
    releases = {d: release_time(d) for d in frame["report_date"].unique()}
    frame["release_at"] = frame["report_date"].map(releases)
    frame["name"] = [MARKETS[c].name_on(d) for c, d in zip(frame["code"], frame["report_date"], strict=True)]
    return frame


# ---------------------------------------------------------------------------------------------------------------
# Revisions
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Revision:
    """CFTC corrects one market's week: from `effective` (a later release day) on, the corrected values show."""

    code: str
    report_date: date
    effective: date
    oi_factor: float
    spec_shift: float

    @property
    def effective_at(self) -> datetime:
        return at_new_york(self.effective, *RELEASE_TIME_NY)


@lru_cache(maxsize=4)
def revisions(seed: int) -> tuple[Revision, ...]:
    """A couple of corrections a year, each published one to six weeks after the original report."""
    frame = world_for(seed).positioning
    rng = _stream(seed, "cot/revisions")
    events: list[Revision] = []
    years = frame["report_date"].dt.year.to_numpy()
    for year in range(int(years.min()), int(years.max()) + 1):
        rows = np.flatnonzero(years == year)
        if len(rows) < 40:
            continue
        for row in sorted(rng.choice(rows, size=REVISIONS_PER_YEAR, replace=False)):
            report_day = frame["report_date"].iloc[row].date()
            weeks_later = int(rng.integers(1, 7))
            sign = rng.choice([-1.0, 1.0], size=2)
            events.append(
                Revision(
                    code=str(frame["code"].iloc[row]),
                    report_date=report_day,
                    effective=release_date(report_day + timedelta(weeks=weeks_later)),
                    oi_factor=float(1 + sign[0] * rng.uniform(0.004, 0.03)),
                    spec_shift=float(sign[1] * rng.uniform(0.002, 0.01)),
                )
            )
    return tuple(events)


@lru_cache(maxsize=8)
def _revised(seed: int, report: ReportKind, futures_only: bool) -> dict[tuple[str, date], tuple[datetime, dict]]:
    """(code, report date) -> (effective instant, corrected positions) for the report's markets."""
    layout = LAYOUTS[report]
    inputs = _inputs(seed, report)
    index = {(c, d.date()): i for i, (c, d) in enumerate(zip(inputs["code"], inputs["report_date"], strict=True))}
    out: dict[tuple[str, date], tuple[datetime, dict]] = {}
    for event in revisions(seed):
        i = index.get((event.code, event.report_date))
        if i is None or event.report_date < _first_report(layout, event.code):
            continue
        row = inputs.iloc[[i]].copy()
        row["open_interest"] *= event.oi_factor
        row["spec_net_share"] += event.spec_shift
        oi, spec, flow, base = _drivers(seed, report, futures_only, row)
        split = _split(layout, oi, spec, flow, _noise(seed, report, futures_only)[[i]], base)
        out[(event.code, event.report_date)] = (event.effective_at, {k: int(v[0]) for k, v in split.items()})
    return out


@lru_cache(maxsize=32)
def published(seed: int, report: ReportKind, futures_only: bool, as_of_time: datetime) -> pd.DataFrame:
    """The report as CFTC showed it at `as_of_time`: released weeks only, revisions published by then applied."""
    frame = positions(seed, report, futures_only)
    frame = frame[frame["release_at"] <= as_of_time].copy()
    rows = {(c, d): i for i, c, d in zip(frame.index, frame["code"], frame["report_date"], strict=True)}
    for key, (effective_at, values) in _revised(seed, report, futures_only).items():
        if effective_at <= as_of_time and key in rows:
            frame.loc[rows[key], list(values)] = list(values.values())
    return frame


def warm(seed: int, as_of: date) -> None:
    """Compute every dataset as served at `as_of` now, which the first request of each dataset would otherwise do
    inside its response time (seconds on the shared machine): tests that time requests call it first."""
    moment = as_of_time(seed, as_of)
    for report, futures_only in DATASETS.values():
        published(seed, report, futures_only, moment)


def as_of_time(seed: int, as_of: date) -> datetime:
    """The publisher's state time for an as-of date (the decision time of that day, as the server uses)."""
    return SimulatedPublisher(seed=seed, as_of=as_of).as_of_time


# ---------------------------------------------------------------------------------------------------------------
# Socrata: records, SoQL and errors
# ---------------------------------------------------------------------------------------------------------------
DATASETS: dict[str, tuple[ReportKind, bool]] = {
    dataset_id: (report, futures_only)
    for report, layout in LAYOUTS.items()
    for futures_only, dataset_id in layout.dataset_ids.items()
}
DEFAULT_LIMIT = 1000


class SoqlError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def response(self) -> Response:
        body = {"code": self.code, "error": True, "message": self.message}
        text = json.dumps(body, indent=2, separators=(",", " : "))
        return Response(self.status, (text + "\n").encode(), "application/json;charset=utf-8")


@lru_cache(maxsize=16)
def socrata_frame(seed: int, report: ReportKind, futures_only: bool, at: datetime) -> tuple[pd.DataFrame, dict]:
    """The dataset's records as typed columns named as Socrata names them, and each column's Socrata type."""
    layout = LAYOUTS[report]
    frame = published(seed, report, futures_only, at)
    markets = [MARKETS[c] for c in frame["code"]]
    stamps = pd.to_datetime(frame["report_date"])
    iso = stamps.dt.isocalendar()
    columns: dict[str, object] = {
        "id": stamps.dt.strftime("%y%m%d") + frame["code"] + ("F" if futures_only else "C"),
        MARKET_NAME.api_name: frame["name"],
        REPORT_DATE_API: stamps,
        "yyyy_report_week_ww": [f"{y} Report Week {w:02d}" for y, w in zip(iso["year"], iso["week"], strict=True)],
        "contract_market_name": frame["name"].str.split(" - ").str[0],
        MARKET_CODE.api_name: frame["code"],
        "cftc_market_code": [m.initials.strip() for m in markets],
        "cftc_region_code": [m.region for m in markets],
        "cftc_commodity_code": [m.commodity_code.strip() for m in markets],
        "commodity_name": [m.commodity for m in markets],
        **{f.api_name: frame[f.column] for f in layout.positions},
        "pct_of_open_interest_all": np.full(len(frame), 100),
        "contract_units": [m.units for m in markets],
        "cftc_subgroup_code": [m.subgroup for m in markets],
        "commodity_group_name": [m.group for m in markets],
        "futonly_or_combined": "FutOnly" if futures_only else "Combined",
    }
    records = pd.DataFrame(columns).reset_index(drop=True)
    types = {
        name: "floating_timestamp" if name == REPORT_DATE_API else "number" if _is_number(name, layout) else "text"
        for name in records.columns
    }
    return records, types


def _is_number(name: str, layout: ReportLayout) -> bool:
    return name == "pct_of_open_interest_all" or name in {f.api_name for f in layout.positions}


_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|=|<|>)"
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z_:][A-Za-z0-9_:]*))"
)
Predicate = Callable[[pd.DataFrame], pd.Series]


class _Soql:
    """A recursive-descent reader of the SoQL `$where` subset: comparisons, in, between, is null, and/or/not."""

    def __init__(self, text: str, types: dict[str, str]) -> None:
        self.text = text
        self.types = types
        self.tokens: list[tuple[str, str, int]] = []
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                if text[position:].strip() == "":
                    break
                raise self._malformed(position)
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind), match.start(kind)))
            position = match.end()
        self.i = 0

    def _malformed(self, position: int | None = None) -> SoqlError:
        where = (
            position
            if position is not None
            else (self.tokens[self.i][2] if self.i < len(self.tokens) else len(self.text))
        )
        return SoqlError(
            "query.compiler.malformed",
            f'Could not parse SoQL query "{self.text}" at line 1 character {where + 1}',
        )

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _word(self, *words: str) -> bool:
        token = self._peek()
        if token and token[0] == "word" and token[1].lower() in words:
            self.i += 1
            return True
        return False

    def _expect(self, kind: str, value: str | None = None) -> str:
        token = self._peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            raise self._malformed()
        self.i += 1
        return token[1]

    def parse(self) -> Predicate:
        predicate = self._or()
        if self._peek() is not None:
            raise self._malformed()
        return predicate

    def _or(self) -> Predicate:
        left = self._and()
        while self._word("or"):
            right = self._and()
            left = (lambda a, b: lambda f: a(f) | b(f))(left, right)
        return left

    def _and(self) -> Predicate:
        left = self._not()
        while self._word("and"):
            right = self._not()
            left = (lambda a, b: lambda f: a(f) & b(f))(left, right)
        return left

    def _not(self) -> Predicate:
        if self._word("not"):
            inner = self._not()
            return lambda f: ~inner(f)
        token = self._peek()
        if token and token[0] == "punct" and token[1] == "(":
            self.i += 1
            inner = self._or()
            self._expect("punct", ")")
            return inner
        return self._comparison()

    def _literal(self, column: str) -> object:
        token = self._peek()
        if token is None or token[0] not in ("string", "number"):
            raise self._malformed()
        self.i += 1
        text = token[1][1:-1].replace("''", "'") if token[0] == "string" else token[1]
        kind = self.types[column]
        try:
            if kind == "number":
                return float(text)
            if kind == "floating_timestamp":
                if token[0] != "string":
                    raise ValueError(text)
                return pd.Timestamp(text)
        except ValueError:
            raise SoqlError(
                "query.soql.type-mismatch", f"Type mismatch for {column}, is {kind}, cannot compare with {token[1]}"
            ) from None
        return text

    def _comparison(self) -> Predicate:
        column = self._expect("word")
        if column not in self.types:
            raise SoqlError("query.soql.no-such-column", f"No such column: {column}")
        if self._word("is"):
            negate = self._word("not")
            if not self._word("null"):
                raise self._malformed()
            return (lambda f: f[column].notna()) if negate else (lambda f: f[column].isna())
        negate = self._word("not")
        if self._word("in"):
            self._expect("punct", "(")
            values = [self._literal(column)]
            while self._peek() and self._peek()[1] == ",":  # type: ignore[index]
                self.i += 1
                values.append(self._literal(column))
            self._expect("punct", ")")
            return (lambda f: ~f[column].isin(values)) if negate else (lambda f: f[column].isin(values))
        if self._word("between"):
            low = self._literal(column)
            if not self._word("and"):
                raise self._malformed()
            high = self._literal(column)
            inside: Predicate = lambda f: (f[column] >= low) & (f[column] <= high)  # noqa: E731
            return (lambda f: ~inside(f)) if negate else inside
        if negate:
            raise self._malformed()
        op = self._expect("op")
        value = self._literal(column)
        compare = {
            "=": lambda s: s == value,
            "!=": lambda s: s != value,
            "<>": lambda s: s != value,
            "<": lambda s: s < value,
            "<=": lambda s: s <= value,
            ">": lambda s: s > value,
            ">=": lambda s: s >= value,
        }[op]
        return lambda f: compare(f[column])


def _columns(text: str, types: dict[str, str], what: str) -> list[tuple[str, bool]]:
    """Comma-separated plain columns, each with an optional ASC/DESC (for $order) -> (column, descending)."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        bits = part.split()
        if not bits or len(bits) > 2 or (len(bits) == 2 and bits[1].lower() not in ("asc", "desc")):
            raise SoqlError("query.compiler.malformed", f'Could not parse {what} "{text}"')
        if bits[0] != "*" and bits[0] not in types:
            raise SoqlError("query.soql.no-such-column", f"No such column: {bits[0]}")
        out.append((bits[0], len(bits) == 2 and bits[1].lower() == "desc"))
    return out


def _count(request: Request, name: str, default: int) -> int:
    text = request.arg(name)
    if text is None:
        return default
    if not text.strip().isdigit():
        raise SoqlError("query.compiler.malformed", f'Invalid {name} "{text}": not a non-negative integer')
    return int(text)


def _render(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def query_dataset(records: pd.DataFrame, types: dict[str, str], request: Request) -> tuple[list[dict], list[str]]:
    """Run the request's SoQL against the dataset: filters, order, paging, projection."""
    selected = records
    for name, values in request.query.items():
        if name.startswith("$$"):
            continue  # $$app_token and friends
        if name.startswith("$"):
            if name not in ("$where", "$order", "$limit", "$offset", "$select"):
                raise SoqlError("query.compiler.malformed", f"Unrecognized arguments [{name}]")
            continue
        if name not in types:
            raise SoqlError("query.soql.no-such-column", f"No such column: {name}")
        selected = selected[selected[name].map(_render) == values[-1]]
    where = request.arg("$where")
    if where and where.strip():
        selected = selected[_Soql(where, types).parse()(selected).fillna(False).astype(bool)]
    order = request.arg("$order")
    if order:
        keys = _columns(order, types, "$order")
        selected = selected.sort_values([k for k, _ in keys], ascending=[not d for _, d in keys], kind="stable")
    offset, limit = _count(request, "$offset", 0), _count(request, "$limit", DEFAULT_LIMIT)
    page = selected.iloc[offset : offset + limit]
    fields = list(records.columns)
    select = request.arg("$select")
    if select:
        chosen = [c for c, _ in _columns(select, types, "$select")]
        fields = fields if "*" in chosen else chosen
    rows = [
        {k: _render(v) for k, v in zip(fields, values, strict=True) if not _is_null(v)}
        for values in page[fields].itertuples(index=False, name=None)
    ]
    return rows, fields


def _is_null(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def socrata_body(rows: list[dict]) -> bytes:
    """Socrata's layout: one record per line, continuation lines starting with a comma."""
    if not rows:
        return b"[]\n"
    return ("[" + "\n,".join(json.dumps(r, separators=(",", ":")) for r in rows) + "]\n").encode()


@route(r"/resource/(?P<dataset>[a-z0-9]{4}-[a-z0-9]{4})\.json")
def _serve_dataset(app: SimulatedPublisher, request: Request, match: object) -> Response:
    dataset = match.group("dataset")  # type: ignore[attr-defined]
    if dataset not in DATASETS:
        return SoqlError("not_found", f"Cannot find view with id {dataset}", status=404).response()
    report, futures_only = DATASETS[dataset]
    records, types = socrata_frame(app.seed, report, futures_only, app.as_of_time)
    try:
        rows, fields = query_dataset(records, types, request)
    except SoqlError as exc:
        return exc.response()
    headers = {
        "X-SODA2-Fields": json.dumps(fields, separators=(",", ":")),
        "X-SODA2-Types": json.dumps([types[f] for f in fields], separators=(",", ":")),
    }
    return Response(200, socrata_body(rows), "application/json;charset=utf-8", headers)


# ---------------------------------------------------------------------------------------------------------------
# Annual text files
# ---------------------------------------------------------------------------------------------------------------
# A cell of the text file: (kind, silver column or None, block All/Old/Other).
Cell = tuple[str, str | None, str]
_META = {
    "legacy": ("Market and Exchange Names", "As of Date in Form YYMMDD", "As of Date in Form YYYY-MM-DD",
               "CFTC Contract Market Code", "CFTC Market Code in Initials", "CFTC Region Code", "CFTC Commodity Code"),
    "underscored": ("Market_and_Exchange_Names", "As_of_Date_In_Form_YYMMDD", "Report_Date_as_YYYY-MM-DD",
                    "CFTC_Contract_Market_Code", "CFTC_Market_Code", "CFTC_Region_Code", "CFTC_Commodity_Code"),
}  # fmt: skip
_META_KINDS = ("name", "yymmdd", "date", "code", "initials", "region", "commodity")
_BLOCKS = ("All", "Old", "Other")


def _stem_side(header: str) -> tuple[str, str]:
    """`Swap__Positions_Short_All` -> ('Swap', 'Short'); `Noncommercial Positions-Spreading (All)` -> (.., ..)."""
    if "_Positions_" in header:
        stem, rest = header.split("_Positions_")
        return stem.strip("_"), rest.split("_")[0]
    stem, rest = header.strip().split(" Positions-")
    return stem, rest.split(" ")[0]


def _legacy_header(layout: ReportLayout) -> list[tuple[str, Cell]]:
    cells: list[tuple[str, Cell]] = [(h, (k, None, "All")) for h, k in zip(_META["legacy"], _META_KINDS, strict=True)]
    fields = layout.positions[1:]
    for block in _BLOCKS:
        cells.append((f"Open Interest ({block})", ("position", "open_interest", block)))
        for f in fields:
            stem, side = _stem_side(f.header)
            lead = " " if (stem, side, block) == ("Total Reportable", "Long", "All") else ""
            cells.append((f"{lead}{stem} Positions-{side} ({block})", ("position", f.column, block)))
    cells.append(("Change in Open Interest (All)", ("change", "open_interest", "All")))
    cells += [(f"Change in {'-'.join(_stem_side(f.header))} (All)", ("change", f.column, "All")) for f in fields]
    for block in _BLOCKS:
        oi = "% of Open Interest (OI)(Old)" if block == "Old" else f"% of Open Interest (OI) ({block})"
        cells.append((oi, ("pct_oi", None, block)))
        cells += [(f"% of OI-{'-'.join(_stem_side(f.header))} ({block})", ("pct", f.column, block)) for f in fields]
    for block in _BLOCKS:
        cells.append((f"Traders-Total ({block})", ("traders_total", None, block)))
        cells += [
            (f"Traders-{'-'.join(_stem_side(f.header))} ({block})", ("traders", f.column, block))
            for f in fields
            if not f.column.startswith("nonreportable")
        ]
    for block in _BLOCKS:
        for measure in ("Gross", "Net"):
            for k in (4, 8):
                for side in ("Long", "Short"):
                    lt = "LT = 4" if (measure, k, side, block) == ("Gross", 4, "Long", "All") else f"LT ={k}"
                    gap = "" if (measure, side, block) == ("Gross", "Short", "Other") else " "
                    cells.append(
                        (
                            f"Concentration-{measure} {lt} TDR-{side}{gap}({block})",
                            ("conc", f"{measure}{k}{side}", block),
                        )
                    )
    cells += [
        ("Contract Units", ("units", None, "All")),
        ("CFTC Contract Market Code (Quotes)", ("q_code", None, "All")),
        ("CFTC Market Code in Initials (Quotes)", ("q_initials", None, "All")),
        ("CFTC Commodity Code (Quotes)", ("q_commodity", None, "All")),
    ]
    return cells


def _underscored_header(layout: ReportLayout) -> list[tuple[str, Cell]]:
    blocks = ("All",) if layout.report == "tff" else _BLOCKS
    fields = layout.positions[1:]
    cells: list[tuple[str, Cell]] = [
        (h, (k, None, "All")) for h, k in zip(_META["underscored"], _META_KINDS, strict=True)
    ]
    for block in blocks:
        cells += [(f.header[: -len("All")] + block, ("position", f.column, block)) for f in layout.positions]
    cells.append(("Change_in_Open_Interest_All", ("change", "open_interest", "All")))
    cells += [(f"Change_in_{'_'.join(_stem_side(f.header))}_All", ("change", f.column, "All")) for f in fields]
    for block in blocks:
        cells.append((f"Pct_of_Open_Interest_{block}", ("pct_oi", None, block)))
        cells += [(f"Pct_of_OI_{'_'.join(_stem_side(f.header))}_{block}", ("pct", f.column, block)) for f in fields]
    for block in blocks:
        cells.append((f"Traders_Tot_{block}", ("traders_total", None, block)))
        cells += [
            (f"Traders_{'_'.join(_stem_side(f.header))}_{block}", ("traders", f.column, block))
            for f in fields
            if not f.column.startswith("nonreportable")
        ]
    for block in blocks:
        for measure in ("Gross", "Net"):
            for k in (4, 8):
                for side in ("Long", "Short"):
                    cells.append((f"Conc_{measure}_LE_{k}_TDR_{side}_{block}", ("conc", f"{measure}{k}{side}", block)))
    cells += [
        ("Contract_Units", ("units", None, "All")),
        ("CFTC_Contract_Market_Code_Quotes", ("q_code", None, "All")),
        ("CFTC_Market_Code_Quotes", ("q_initials", None, "All")),
        ("CFTC_Commodity_Code_Quotes", ("q_commodity", None, "All")),
        ("CFTC_SubGroup_Code", ("subgroup", None, "All")),
        ("FutOnly_or_Combined", ("flag", None, "All")),
    ]
    return cells


@lru_cache(maxsize=3)
def file_layout(report: ReportKind) -> tuple[tuple[str, Cell], ...]:
    """Every column of the report's annual file, with CFTC's exact headers."""
    layout = LAYOUTS[report]
    return tuple(_legacy_header(layout) if report == "legacy" else _underscored_header(layout))


def _traders(position: int, oi: int) -> int:
    """A plausible count of traders holding `position` contracts (deterministic; CFTC's real counts are private)."""
    return max(1, round(4 + 40 * (position / oi) ** 0.6 * math.log10(10 + oi / 1000)))


@cache
def _column_groups(report: ReportKind) -> dict[str, tuple[str, ...]]:
    """Position columns by use in the trader-count and concentration cells (computed once, not per cell)."""
    columns = LAYOUTS[report].position_columns
    return {
        "traders": tuple(c for c in columns if c.endswith(("_long", "_short", "_spread"))),
        **{s: tuple(c for c in columns if c.endswith(f"_{s}") and "total" not in c) for s in ("long", "short")},
    }


def _cell(kind: str, column: str | None, block: str, row: dict, previous: dict | None, layout: ReportLayout) -> str:
    market: Market = row["market"]
    oi = row["open_interest"]
    other = block == "Other"
    if kind == "name":
        return f'"{row["name"]}"'
    if kind == "yymmdd":
        return row["report_date"].strftime("%y%m%d")
    if kind == "date":
        return row["report_date"].isoformat()
    if kind == "code":
        return row["code"]
    if kind in ("initials", "region", "commodity"):
        return {"initials": market.initials, "region": market.region, "commodity": market.commodity_code}[kind]
    if kind == "position":
        return f"{0 if other else row[column]:8d}"
    if kind == "change":
        return "." if previous is None else f"{row[column] - previous[column]:8d}"
    if kind == "pct_oi":
        return f"{0.0 if other else 100.0:7.1f}"
    if kind == "pct":
        return f"{0.0 if other or oi == 0 else 100 * row[column] / oi:7.1f}"
    if kind == "traders_total":
        categories = _column_groups(layout.report)["traders"]
        return f"{0 if other else sum(_traders(row[c], oi) for c in categories if row[c]) // 2:7d}"
    if kind == "traders":
        if other:
            return f"{0:7d}"
        return "." if row[column] == 0 else f"{_traders(row[column], oi):7d}"
    if kind == "conc":
        if other:
            return f"{0.0:8.1f}"
        side = "long" if column.endswith("Long") else "short"  # type: ignore[union-attr]
        largest = max(row[c] for c in _column_groups(layout.report)[side])
        share = 100 * largest / oi if oi else 0.0
        share *= (0.55 if "4" in column else 0.8) * (0.95 if column.startswith("Net") else 1.0)  # type: ignore[union-attr]
        return f"{min(share, 99.9):8.1f}"
    if kind == "units":
        return f'"{market.units}"'
    if kind == "q_code":
        return f'"{row["code"]}"'
    if kind == "q_initials":
        return f'"{market.initials}"'
    if kind == "q_commodity":
        return f'"{market.commodity_code}"'
    if kind == "subgroup":
        return f'"{market.subgroup}"'
    if kind == "flag":
        return '"FutOnly"' if row["futures_only"] else '"Combined"'
    raise ValueError(kind)


def annual_text(seed: int, report: ReportKind, year: int, as_of: date, futures_only: bool = True) -> bytes:
    """The year's annual file as CFTC served it at the end of `as_of`: markets in code order, newest week first."""
    frame = published(seed, report, futures_only, as_of_time(seed, as_of))
    return _annual_text_of(frame, report, year, futures_only, MARKETS)


def _annual_text_of(
    frame: pd.DataFrame, report: ReportKind, year: int, futures_only: bool, markets: dict[str, Market]
) -> bytes:
    """Render a published frame's `year` as the annual file (markets looked up by code in `markets`)."""
    return _text_file(report, frame, futures_only, lambda day: day.year == year, markets)


def history_text(seed: int, report: ReportKind, as_of: date, *, rows: int, futures_only: bool = True) -> bytes:
    """A multi-year history file (one header over many years, as in CFTC's historical compressed archives such as
    `deahistfo_1986_2016`), holding exactly the first `rows` data lines of the newest report weeks that fill them."""
    frame = published(seed, report, futures_only, as_of_time(seed, as_of))
    per_week = frame.groupby("report_date").size().sort_index(ascending=False)
    weeks = per_week.index[: int((per_week.cumsum() < rows).sum()) + 1]
    if per_week.loc[weeks].sum() < rows:
        raise ValueError(f"the {report} history holds only {per_week.sum():,} rows, fewer than {rows:,}")
    oldest = weeks.min()
    text = _text_file(report, frame, futures_only, lambda day: day >= oldest, MARKETS)
    return b"".join(text.splitlines(keepends=True)[: rows + 1])


def _text_file(
    report: ReportKind,
    frame: pd.DataFrame,
    futures_only: bool,
    keep: Callable[[date], bool],
    markets: dict[str, Market],
) -> bytes:
    """Rows of `frame` whose report date `keep` accepts, in the text layout: markets in code order, newest first."""
    layout = LAYOUTS[report]
    frame = frame.sort_values(["code", "report_date"])
    cells = file_layout(report)
    lines = [",".join(f'"{h}"' for h, _ in cells)]
    for code, group in frame.groupby("code", sort=True):
        records = group.to_dict("records")
        previous_of = {i: records[i - 1] if i else None for i in range(len(records))}
        for i in reversed(range(len(records))):
            row = records[i]
            if not keep(row["report_date"]):
                continue
            row = {**row, "market": markets[str(code)], "futures_only": futures_only}
            lines.append(",".join(_cell(k, c, b, row, previous_of[i], layout) for _, (k, c, b) in cells))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _zipped(report: ReportKind, year: int, futures_only: bool, text: bytes) -> bytes:
    _, member = LAYOUTS[report].annual_files[futures_only]
    info = zipfile.ZipInfo(member, date_time=(year, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, text)
    return buffer.getvalue()


def annual_zip(seed: int, report: ReportKind, year: int, as_of: date, futures_only: bool = True) -> bytes:
    """The zip archive CFTC ships the annual file in (fixed timestamps, so the same state gives the same bytes)."""
    return _zipped(report, year, futures_only, annual_text(seed, report, year, as_of, futures_only))


def annual_workbook_zip(seed: int, report: ReportKind, year: int, as_of: date, futures_only: bool = True) -> bytes:
    """The year's historical compressed Excel file (`dea_fut_xls_<year>.zip` and friends): one workbook of one
    sheet with the text file's columns and rows, numbers as numbers and report dates as date cells. Written as
    .xlsx (`spreadsheets`): CFTC's member is an .xls, so the member here is `<annual member>.xlsx`."""
    import csv

    from resources.simulated.spreadsheets import typed, xlsx

    text = annual_text(seed, report, year, as_of, futures_only).decode("utf-8")
    rows = list(csv.reader(text.splitlines()))
    book = xlsx({"XLS": [[h.strip() for h in rows[0]], *([typed(c) for c in row] for row in rows[1:])]})
    _, member = LAYOUTS[report].annual_files[futures_only]
    info = zipfile.ZipInfo(member.rsplit(".", 1)[0] + ".xlsx", date_time=(year, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, book)
    return buffer.getvalue()


def _display_name(api_name: str) -> str:
    """A Socrata field name as the site shows it: `noncomm_positions_long_all` -> `Noncomm_Positions_Long_All`."""
    return "_".join(part[:1].upper() + part[1:] for part in api_name.split("_"))


def site_export_csv(
    seed: int, report: ReportKind, as_of: date, futures_only: bool = True, *, iso_dates: bool = False
) -> bytes:
    """The dataset as the public reporting site's "Export > CSV" writes it at the end of `as_of`.

    Columns carry the dataset's display names (`ID`, `Report_Date_as_YYYY_MM_DD`, `YYYY Report Week WW`,
    `Contract_Market_Name`, `Commodity Name`, `FutOnly_or_Combined`, positions named like their fields); report
    dates are Socrata floating timestamps (`01/02/2024 12:00:00 AM`, or ISO with `iso_dates`); newest first.
    """
    records, _ = socrata_frame(seed, report, futures_only, as_of_time(seed, as_of))
    records = records.sort_values([REPORT_DATE_API, MARKET_CODE.api_name], ascending=[False, True])
    layout = LAYOUTS[report]
    stamps = pd.to_datetime(records[REPORT_DATE_API])
    frame = pd.DataFrame(
        {
            "ID": records["id"],
            "Market_and_Exchange_Names": records[MARKET_NAME.api_name],
            "Report_Date_as_YYYY_MM_DD": stamps.dt.strftime(
                "%Y-%m-%dT00:00:00.000" if iso_dates else "%m/%d/%Y 12:00:00 AM"
            ),
            "YYYY Report Week WW": records["yyyy_report_week_ww"],
            "Contract_Market_Name": records["contract_market_name"],
            "CFTC_Contract_Market_Code": records[MARKET_CODE.api_name],
            "CFTC_Market_Code": records["cftc_market_code"],
            "CFTC_Region_Code": records["cftc_region_code"],
            "CFTC_Commodity_Code": records["cftc_commodity_code"],
            "Commodity Name": records["commodity_name"],
            **{_display_name(f.api_name): records[f.api_name].astype("int64") for f in layout.positions},
            "Contract_Units": records["contract_units"],
            "FutOnly_or_Combined": records["futonly_or_combined"],
        }
    )
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def published_years(seed: int, report: ReportKind, as_of: date, futures_only: bool = True) -> list[int]:
    frame = published(seed, report, futures_only, as_of_time(seed, as_of))
    return sorted({d.year for d in frame["report_date"]})


def write_files(
    folder: Path,
    seed: int,
    as_of: date,
    *,
    reports: tuple[ReportKind, ...] = ("legacy", "tff", "disaggregated"),
    years: tuple[int, ...] | None = None,
    combined: bool = False,
) -> list[Path]:
    """Write the annual zip archives CFTC offers for download, as they stood at the end of `as_of`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for futures_only in (True, False) if combined else (True,):
        for report in reports:
            zip_name, _ = LAYOUTS[report].annual_files[futures_only]
            for year in published_years(seed, report, as_of, futures_only):
                if years is not None and year not in years:
                    continue
                path = folder / zip_name.format(year=year)
                path.write_bytes(annual_zip(seed, report, year, as_of, futures_only))
                written.append(path)
    return written


def scaled_code(code: str, copy: int) -> str:
    """The market code of a scaled universe's `copy`-th replica of `code` (0: the market itself).

    CFTC codes are 6 letters or digits and none starts with X: `X`, the copy and the market's place among the
    simulated markets (base 36), then the code's last two characters stay valid and unique for up to 1,295
    copies."""
    if copy == 0:
        return code
    if not 0 < copy < 36 * 36:
        raise ValueError(f"copy {copy} out of range (1..1295)")
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    place = list(MARKETS).index(code)
    return f"X{digits[copy // 36]}{digits[copy % 36]}{digits[place]}{code[4:]}"


_ROW_CODE = re.compile(r",(\d{6}),(\d{4}-\d{2}-\d{2}),([^,]+),")


def _replica_line(line: str, code: str, replica: str) -> str:
    """One annual-file row of market `code` as replica `replica`: its code cell and its quoted code cell renamed."""
    return _ROW_CODE.sub(lambda m: f",{m[1]},{m[2]},{replica},", line, count=1).replace(f'"{code}"', f'"{replica}"')


def write_scaled_files(
    folder: Path,
    seed: int,
    as_of: date,
    *,
    markets: int,
    years: int,
    reports: tuple[ReportKind, ...] = ("legacy", "tff", "disaggregated"),
    combined: bool = False,
) -> list[Path]:
    """A scaled universe for benchmarks and parity tests: each report's annual zips for the last `years` years up to
    `as_of`, holding `markets` markets per report: the simulated ones, then replicas under `scaled_code` with the
    same positions and revisions. Each row is rendered once and copied, so 100 times the universe stays cheap."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for futures_only in (True, False) if combined else (True,):
        for report in reports:
            codes = codes_for(report)
            chosen = [(codes[i % len(codes)], i // len(codes)) for i in range(markets)]
            chosen.sort(key=lambda c: scaled_code(*c))  # CFTC's files list markets in code order
            zip_name, _ = LAYOUTS[report].annual_files[futures_only]
            for year in range(as_of.year - years + 1, as_of.year + 1):
                if year not in published_years(seed, report, as_of, futures_only):
                    continue
                header, *rows = annual_text(seed, report, year, as_of, futures_only).decode("utf-8").split("\r\n")
                by_code: dict[str, list[str]] = {}
                for row in rows:
                    if row:
                        by_code.setdefault(_ROW_CODE.search(row)[3], []).append(row)  # type: ignore[index]
                lines = [header]
                for code, copy in chosen:
                    replica = scaled_code(code, copy)
                    lines += [r if copy == 0 else _replica_line(r, code, replica) for r in by_code.get(code, [])]
                path = folder / zip_name.format(year=year)
                path.write_bytes(_zipped(report, year, futures_only, ("\r\n".join(lines) + "\r\n").encode("utf-8")))
                written.append(path)
    return written


_ARCHIVES = {
    zip_name.split("{")[0]: (report, futures_only)
    for report, layout in LAYOUTS.items()
    for futures_only, (zip_name, _) in layout.annual_files.items()
}


@route(r"/files/dea/history/(?P<prefix>[a-z_]+)(?P<year>\d{4})\.zip")
def _serve_archive(app: SimulatedPublisher, request: Request, match: object) -> Response:
    prefix, year = match.group("prefix"), int(match.group("year"))  # type: ignore[attr-defined]
    if prefix not in _ARCHIVES:
        return Response.not_found(request.path)
    report, futures_only = _ARCHIVES[prefix]
    if year not in published_years(app.seed, report, app.as_of, futures_only) or year > HORIZON.year:
        return Response.not_found(request.path)
    return Response(200, annual_zip(app.seed, report, year, app.as_of, futures_only), "application/zip")


__all__ = [
    "MARKETS",
    "Revision",
    "annual_text",
    "annual_zip",
    "as_of_time",
    "file_layout",
    "positions",
    "published",
    "revisions",
    "socrata_frame",
    "write_files",
]
