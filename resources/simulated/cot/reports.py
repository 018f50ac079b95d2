"""COT reports from the simulated world: CFTC's markets, positions split into each report's trader categories,
revisions, and what was public at a given time (`published`). See the package docstring."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from resources.settings import DEFAULT_DECISION_TIME_UTC
from resources.simulated.publisher import SimulatedPublisher
from resources.simulated.world import COT_MARKETS, _stream, world_for
from resources.sources.base import at_new_york
from resources.sources.cot.calendar import RELEASE_TIME_NY, release_date, release_time
from resources.sources.cot.layouts import (
    LAYOUTS,
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


def as_of_time(seed: int, as_of: date, decision_time_utc: time = DEFAULT_DECISION_TIME_UTC) -> datetime:
    """The publisher's state time for an as-of date (the decision time of that day, as the server uses)."""
    return SimulatedPublisher(seed=seed, as_of=as_of, decision_time_utc=decision_time_utc).as_of_time
