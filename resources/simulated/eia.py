"""EIA as the simulated publisher: API v2 JSON for the five data routes, and EIA's download CSVs (`write_files`).

Values come from the world: weekly petroleum (`world.petroleum`: crude stocks, refinery utilization, production,
imports, exports) and Lower 48 working gas (`world.gas_storage`), both for weeks ending Friday, and the daily spot
and futures prices of `world.daily`, rounded as EIA publishes them. The world has no row for a week whose Friday is
an exchange holiday (Good Friday...); EIA still publishes that week, so it carries the previous week's levels (a
zero change) and every change the world made stays exactly the world's (the planted
`eia_inventory_surprise_wti` effect is measured on those changes).

What the API shows at the end of an as-of day is what EIA had released by then, on the release calendar of
`resources.sources.eia.calendar` (WPSR Wednesday 10:30 ET, WNGSR Thursday, prices with the weekly refresh, holiday
shifts). About once a year per series (twice for gas storage, per EIA's revision policy) a week one to three weeks
old is revised in a later release (`revisions`); every response after that release shows the revised value.

API details reproduced: `api_key` required (403 gate error), `frequency` checked (400 parameter error),
`data[]` selects the value column (without it rows carry no value), `facets[<facet>][]` filters, `start`/`end`
compare with the period text, `sort[n][column|direction]`, `offset`/`length` paging with at most 5000 rows and
`response.total` the full count, the "incomplete return" warning, the request echo (key included, as EIA does),
and `{"error":"Not found.","code":404}` for unknown routes.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from resources.simulated.publisher import Request, Response, SimulatedPublisher, route
from resources.simulated.world import _stream, lengthened, world_for
from resources.sources.eia.calendar import gas_storage_release, petroleum_release, price_release
from resources.sources.eia.spec import FILE_UNITS, PAGE_SIZE, ROUTE_BY_PATH, SERIES, Series

API_VERSION = "2.1.8"
DATE_FORMAT = "YYYY-MM-DD"
KEY_MISSING = "No api_key was supplied.  Please register for one at https://www.eia.gov/opendata/register.php"
INCOMPLETE = (
    "The API can only return 5000 rows in JSON format.  Please consider constraining your request with facet, "
    "start, or end, or using offset to paginate results."
)
ROUTE_DESCRIPTIONS = {
    "petroleum/sum/sndw": "Weekly supply estimates of crude oil and petroleum products (WPSR)",
    "natural-gas/stor/wkly": "Weekly working gas in underground storage (Weekly Natural Gas Storage Report)",
    "petroleum/pri/spt": "Spot prices of crude oil and petroleum products",
    "petroleum/pri/fut": "NYMEX futures prices of crude oil and petroleum products",
    "natural-gas/pri/fut": "Natural gas spot and futures prices (NYMEX)",
}


@dataclass(frozen=True)
class WireSeries:
    """How EIA describes one series: API facets and the download CSV's preamble."""

    world_column: str
    decimals: int
    facets: tuple[str, str, str, str, str, str]  # duoarea, area-name, product, product-name, process, process-name
    title: str  # first line of the download CSV
    page: str  # second line: the page the file was downloaded from
    data_source: str
    header: str  # value column header: description followed by the units as written out
    first: date | None = None
    series_lines: tuple[str, ...] = ()  # `Series Link,...`/`Series Key,...` lines of table pages


def _leaf(series_id: str, product: str, frequency: str) -> str:
    return f"https://www.eia.gov/dnav/{product}/hist/LeafHandler.ashx?n={product.upper()}&s={series_id}&f={frequency}"


_EIA = "Data source: U.S. Energy Information Administration"
_REUTERS = "Data Source: Thomson Reuters"
_US = ("NUS", "U.S.", "EPC0", "Crude Oil")
WIRE: dict[str, WireSeries] = {
    "WCESTUS1": WireSeries(
        "crude_stocks",
        0,
        (*_US, "SAX", "Ending Stocks Excluding SPR"),
        "Weekly U.S. Ending Stocks excluding SPR of Crude Oil",
        _leaf("WCESTUS1", "pet", "W"),
        _EIA,
        "Weekly U.S. Ending Stocks excluding SPR of Crude Oil Thousand Barrels",
    ),
    "WPULEUS3": WireSeries(
        "refinery_util",
        1,
        ("NUS", "U.S.", "EPXXX2", "Refinery Operable Capacity", "YUP", "Percent Utilization"),
        "Weekly U.S. Percent Utilization of Refinery Operable Capacity",
        _leaf("WPULEUS3", "pet", "W"),
        _EIA,
        "Weekly U.S. Percent Utilization of Refinery Operable Capacity Percent",
    ),
    "WCRFPUS2": WireSeries(
        "production",
        0,
        (*_US, "FPF", "Field Production"),
        "Weekly U.S. Field Production of Crude Oil",
        _leaf("WCRFPUS2", "pet", "W"),
        _EIA,
        "Weekly U.S. Field Production of Crude Oil Thousand Barrels per Day",
    ),
    "WCRIMUS2": WireSeries(
        "imports",
        0,
        (*_US, "IM0", "Imports"),
        "Weekly U.S. Imports of Crude Oil",
        _leaf("WCRIMUS2", "pet", "W"),
        _EIA,
        "Weekly U.S. Imports of Crude Oil Thousand Barrels per Day",
    ),
    "WCREXUS2": WireSeries(
        "exports",
        0,
        (*_US, "EEX", "Exports"),
        "Weekly U.S. Exports of Crude Oil",
        _leaf("WCREXUS2", "pet", "W"),
        _EIA,
        "Weekly U.S. Exports of Crude Oil Thousand Barrels per Day",
    ),
    "NW2_EPG0_SWO_R48_BCF": WireSeries(
        "working_gas",
        0,
        ("R48", "Lower 48", "EPG0", "Natural Gas", "SWO", "Working Gas in Storage"),
        "Weekly Working Gas in Underground Storage",
        "https://www.eia.gov/dnav/ng/ng_stor_wkly_s1_w.htm",
        "Source: U.S. Energy Information Administration",
        "Lower 48 States Natural Gas Working Underground Storage BCF",
        first=date(2010, 1, 1),
        series_lines=(
            "Series Link,https://www.eia.gov/dnav/ng/hist/nw2_epg0_swo_r48_bcfw.htm",
            "Series Key,NW2_EPG0_SWO_R48_BCF.W",
        ),
    ),
    "RWTC": WireSeries(
        "RWTC",
        2,
        ("YCUOK", "NA", "EPCWTI", "WTI Crude Oil", "PF4", "Spot Price FOB"),
        "Cushing, OK WTI Spot Price FOB",
        _leaf("RWTC", "pet", "D"),
        _REUTERS,
        "Cushing, OK WTI Spot Price FOB Dollars per Barrel",
    ),
    "RBRTE": WireSeries(
        "RBRTE",
        2,
        ("ZEU", "NA", "EPCBRENT", "UK Brent Crude Oil", "PF4", "Spot Price FOB"),
        "Europe Brent Spot Price FOB",
        _leaf("RBRTE", "pet", "D"),
        _REUTERS,
        "Europe Brent Spot Price FOB Dollars per Barrel",
    ),
    "RNGWHHD": WireSeries(
        "RNGWHHD",
        2,
        ("RGC", "NA", "EPG0", "Natural Gas", "PS0", "Spot Price"),
        "Henry Hub Natural Gas Spot Price",
        "http://www.eia.gov/dnav/ng/hist/rngwhhdd.htm",
        _REUTERS,
        "Henry Hub Natural Gas Spot Price Dollars per Million Btu",
    ),
    **{
        f"RCLC{k}": WireSeries(
            f"RCLC{k}",
            2,
            ("Y35NY", "NA", "EPCWTI", "WTI Crude Oil", f"PE{k}", f"Future Contract {k}"),
            f"Cushing, OK Crude Oil Future Contract {k}",
            _leaf(f"RCLC{k}", "pet", "D"),
            _REUTERS,
            f"Cushing, OK Crude Oil Future Contract {k} Dollars per Barrel",
        )
        for k in range(1, 5)
    },
    **{
        f"RNGC{k}": WireSeries(
            f"RNGC{k}",
            3,
            ("Y35NY", "NA", "EPG0", "Natural Gas", f"PE{k}", f"Future Contract {k}"),
            f"Natural Gas Futures Contract {k}",
            f"https://www.eia.gov/dnav/ng/hist/rngc{k}d.htm",
            _REUTERS,
            f"Natural Gas Futures Contract {k} Dollars per Million Btu",
        )
        for k in range(1, 5)
    },
}
# Revisions per year and their size (before rounding) for the weekly series.
REVISIONS: dict[str, tuple[int, float, float]] = {
    "WCESTUS1": (1, 300.0, 1_500.0),
    "WPULEUS3": (1, 0.2, 1.0),
    "WCRFPUS2": (1, 20.0, 200.0),
    "WCRIMUS2": (1, 50.0, 300.0),
    "WCREXUS2": (1, 50.0, 300.0),
    "NW2_EPG0_SWO_R48_BCF": (2, 4.0, 12.0),
}


# The facets of the price and supply routes, and how each series answers them.
FACETS = {
    "duoarea": lambda s: WIRE[s].facets[0],
    "product": lambda s: WIRE[s].facets[2],
    "process": lambda s: WIRE[s].facets[4],
    "series": lambda s: s,
}


@dataclass(frozen=True)
class Revision:
    series_id: str
    period: date  # the week revised
    released_with: date  # the week (ending Friday) whose release carries the revision
    delta: float


def _release_time(spec: Series, period: date) -> datetime:
    if spec.cadence == "daily":
        return price_release(period).at
    release = gas_storage_release(period) if spec.schedule == "gas_storage" else petroleum_release(period)
    return release.at


@lru_cache(maxsize=64)
def base_values(seed: int, series_id: str) -> pd.DataFrame:
    """First publications of a series: `value` (rounded as EIA publishes) and `released_at` (UTC), by period."""
    spec, wire = SERIES[series_id], WIRE[series_id]
    world = world_for(seed)
    if spec.cadence == "weekly":
        frame = world.gas_storage if spec.schedule == "gas_storage" else world.petroleum
        values = frame[wire.world_column]
        fridays = pd.date_range(values.index.min(), values.index.max(), freq="W-FRI")
        values = values.reindex(fridays).ffill()
    else:
        values = world.daily[wire.world_column]
    if wire.first is not None:
        values = values[values.index >= pd.Timestamp(wire.first)]
    periods = [ts.date() for ts in values.index]
    return pd.DataFrame(
        {
            "value": np.round(values.to_numpy(dtype=float), wire.decimals),
            "released_at": pd.DatetimeIndex([_release_time(spec, p) for p in periods]),
        },
        index=pd.Index(periods, name="period"),
    )


@lru_cache(maxsize=16)
def revisions(seed: int, series_id: str) -> tuple[Revision, ...]:
    """Deterministic revisions of one weekly series over the whole history (none for daily prices)."""
    if series_id not in REVISIONS:
        return ()
    per_year, low, high = REVISIONS[series_id]
    periods = list(base_values(seed, series_id).index)
    rng = _stream(seed, f"eia/revisions/{series_id}")
    events: list[Revision] = []
    for year in range(periods[0].year, periods[-1].year + 1):
        in_year = [i for i, p in enumerate(periods) if p.year == year and i >= 4]
        if len(in_year) < 10:
            continue
        for pos in sorted(rng.choice(in_year, size=per_year, replace=False)):
            back = int(rng.integers(1, 4))
            delta = float(rng.choice([-1.0, 1.0]) * rng.uniform(low, high))
            events.append(Revision(series_id, periods[pos - back], periods[pos], delta))
    return tuple(events)


def _revision_time(seed: int, event: Revision) -> pd.Timestamp:
    return base_values(seed, event.series_id).loc[event.released_with, "released_at"]


def published(seed: int, series_id: str, as_of: datetime) -> pd.Series:
    """The series as EIA showed it at `as_of` (UTC): released periods, with the revisions released by then."""
    frame = base_values(seed, series_id)
    values = frame.loc[frame["released_at"] <= pd.Timestamp(as_of), "value"].copy()
    decimals = WIRE[series_id].decimals
    for event in revisions(seed, series_id):
        if event.period in values.index and _revision_time(seed, event) <= pd.Timestamp(as_of):
            values.loc[event.period] = round(float(values.loc[event.period]) + event.delta, decimals)
    return values


def _text(value: float, decimals: int) -> str:
    if decimals == 0:
        return f"{value:.0f}"
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


# --- API v2 --------------------------------------------------------------------------------------------------------


def _json(status: int, document: dict) -> Response:
    return Response(status, json.dumps(document, separators=(",", ":")).encode(), "application/json; charset=utf-8")


def _param_error(message: str) -> Response:
    return _json(400, {"error": message, "code": 400})


def _values(query: dict[str, list[str]], pattern: str) -> dict[str, list[str]]:
    """Bracketed parameters: `facets[series][]=A` -> {'series': ['A']} for pattern `facets\\[(\\w+)\\]`."""
    out: dict[str, list[str]] = {}
    for name, values in query.items():
        match = re.fullmatch(pattern + r"\[\d*\]", name)
        if match:
            out.setdefault(match.group(1) if match.groups() else "", []).extend(values)
    return out


def _sorts(query: dict[str, list[str]]) -> list[tuple[str, bool]]:
    found: dict[int, dict[str, str]] = {}
    for name, values in query.items():
        match = re.fullmatch(r"sort\[(\d+)\]\[(column|direction)\]", name)
        if match and values:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = values[-1]
    return [
        (s["column"], s.get("direction", "asc").lower() != "desc") for _, s in sorted(found.items()) if "column" in s
    ]


@lru_cache(maxsize=64)
def _wire_rows(seed: int, series_id: str, as_of: datetime) -> pd.DataFrame:
    values = published(seed, series_id, as_of)
    periods = [p.isoformat() for p in values.index]
    return pd.DataFrame({"period": periods, "series": series_id, "v": values.to_numpy()})


def warm(seed: int, as_of: datetime) -> None:
    """Compute every series' served rows now, which the first request of each route would otherwise do inside its
    response time (~3 s on the shared machine): tests that time requests call it first."""
    for series_id in SERIES:
        _wire_rows(seed, series_id, as_of)


def _rows(seed: int, as_of: datetime, series_ids: list[str]) -> pd.DataFrame:
    frames = [_wire_rows(seed, series_id, as_of) for series_id in series_ids]
    if not frames:
        return pd.DataFrame(columns=["period", "series", "v"])
    return pd.concat(frames, ignore_index=True)


def _record(series_id: str, period: str, value: float, with_value: bool) -> dict[str, str | None]:
    spec, wire = SERIES[series_id], WIRE[series_id]
    duoarea, area, product, product_name, process, process_name = wire.facets
    record: dict[str, str | None] = {
        "period": period,
        "duoarea": duoarea,
        "area-name": area,
        "product": product,
        "product-name": product_name,
        "process": process,
        "process-name": process_name,
        "series": series_id,
        "series-description": spec.description,
    }
    if with_value:
        record["value"] = None if value != value else _text(value, wire.decimals)
        record["units"] = spec.units
    return record


@route(r"/v2/(?P<route>[a-z-]+/[a-z]+/[a-z]+)/data/?")
def _serve_data(app: SimulatedPublisher, request: Request, match: re.Match[str]) -> Response:
    path = match.group("route")
    api_route = ROUTE_BY_PATH.get(path)
    if api_route is None:
        return _json(404, {"error": "Not found.", "code": 404})
    api_key = request.arg("api_key")
    if not api_key:
        return _json(403, {"error": {"code": "API_KEY_MISSING", "message": KEY_MISSING}})
    frequency = request.arg("frequency") or api_route.frequency
    if frequency != api_route.frequency:
        return _param_error(
            f"Invalid frequency '{frequency}' provided. The only valid frequencies are '{api_route.frequency}'."
        )
    try:
        offset = int(request.arg("offset", "0") or 0)
        asked = request.arg("length")
        length = int(asked) if asked else PAGE_SIZE
    except ValueError:
        return _param_error("Invalid offset or length provided. Both must be non-negative integers.")
    if offset < 0 or length < 0:
        return _param_error("Invalid offset or length provided. Both must be non-negative integers.")
    columns = [c for values in _values(request.query, r"data").values() for c in values]
    invalid = [c for c in columns if c != "value"]
    if invalid:
        return _param_error(f"Invalid data '{invalid[0]}' provided. The only valid data is 'value'.")
    facets = _values(request.query, r"facets\[([A-Za-z-]+)\]")
    unknown = [f for f in facets if f not in FACETS]
    if unknown:
        valid = "', '".join(FACETS)
        return _param_error(f"Invalid facet '{unknown[0]}' provided. The only valid facets are '{valid}'.")
    series_ids = [
        s
        for s, spec in SERIES.items()
        if spec.route == path and all(FACETS[f](s) in wanted for f, wanted in facets.items())
    ]
    rows = _rows(app.seed, app.as_of_time, series_ids)
    start, end = request.arg("start"), request.arg("end")
    if start:
        rows = rows[rows["period"] >= start]
    if end:
        rows = rows[rows["period"] <= end]
    sorts = _sorts(request.query) or [("period", True), ("series", True)]
    known = [(c, up) for c, up in sorts if c in ("period", "series")]
    if known:
        rows = rows.sort_values([c for c, _ in known], ascending=[up for _, up in known], kind="stable")
    total = len(rows)
    capped = min(length, PAGE_SIZE)
    page = rows.iloc[offset : offset + capped]
    data = [_record(s, p, v, "value" in columns) for p, s, v in page[["period", "series", "v"]].itertuples(index=False)]
    response: dict[str, object] = {}
    if length > PAGE_SIZE and offset + capped < total:
        response["warnings"] = [{"warning": "incomplete return", "description": INCOMPLETE}]
    response.update(
        {
            "total": str(total),
            "dateFormat": DATE_FORMAT,
            "frequency": api_route.frequency,
            "data": data,
            "description": ROUTE_DESCRIPTIONS[path],
        }
    )
    echo: dict[str, object] = {"frequency": frequency, "data": columns}
    if facets:
        echo["facets"] = facets
    echo.update({k: v for k, v in (("start", start), ("end", end)) if v})
    echo["sort"] = [{"column": c, "direction": "asc" if up else "desc"} for c, up in sorts]
    echo.update({"offset": offset, "length": length, "api_key": api_key})
    document = {
        "response": response,
        "request": {"command": f"/v2/{path}/data/", "params": echo},
        "apiVersion": API_VERSION,
        "ExcelAddInVersion": "2.1.0",
    }
    return _json(200, document)


@route(r"/v2(/.*)?")
def _serve_not_found(app: SimulatedPublisher, request: Request, match: re.Match[str]) -> Response:
    return _json(404, {"error": "Not found.", "code": 404})


# --- download CSVs -------------------------------------------------------------------------------------------------


def file_name(series_id: str) -> str:
    return WIRE[series_id].title.replace(",", "").replace(" ", "_") + ".csv"


def download_csv(seed: int, series_id: str, as_of: datetime, *, rows: int | None = None) -> bytes:
    """The series' "Download Data (CSV File)" as EIA ships it at `as_of`: preamble, newest first, no final newline;
    with `rows`, exactly that many periods (daily series only, see `world.lengthened`)."""
    spec, wire = SERIES[series_id], WIRE[series_id]
    values = published(seed, series_id, as_of)
    if rows is not None:
        if spec.cadence != "daily":
            raise ValueError(f"{series_id} is {spec.cadence}: only daily series can be lengthened")
        values = lengthened(values, rows, business_days=True)
    values = values.sort_index(ascending=False)
    stamp = (datetime.combine(as_of.date(), time(10, 31, 7)) + timedelta(seconds=seed % 60)).strftime("%H:%M:%S")
    lines = [wire.title, wire.page, f"{stamp} GMT-0500 (Eastern Standard Time)", wire.data_source, *wire.series_lines]
    lines.append(f"{'Week of' if spec.cadence == 'weekly' else 'Day'},{wire.header}")
    lines += [f"{p.month:02d}/{p.day}/{p.year},{'' if v != v else _text(v, wire.decimals)}" for p, v in values.items()]
    return "\n".join(lines).encode("ascii")


def xls_sheet_csv(seed: int, series_id: str, as_of: datetime) -> bytes:
    """The xls download's "Data 1" sheet saved as CSV: `Back to Contents`, a `Sourcekey` row, `Date,<name>
    (<units>)`, dates as the sheet shows them (`Aug 20, 1982`, quoted: they hold a comma), oldest first."""
    wire = WIRE[series_id]
    text = max((t for t, _ in FILE_UNITS if wire.header.endswith(t)), key=len)
    name = wire.header[: -len(text)].strip()
    lines = [f"Back to Contents,Data 1: {wire.title}", f"Sourcekey,{series_id}", f"Date,{name} ({text})"]
    values = published(seed, series_id, as_of).sort_index()
    lines += [
        f'"{calendar.month_abbr[p.month]} {p.day:02d}, {p.year}",{"" if v != v else _text(v, wire.decimals)}'
        for p, v in values.items()
    ]
    return ("\n".join(lines) + "\n").encode("ascii")


def xls_workbook(seed: int, series_id: str, as_of: datetime) -> bytes:
    """The series' .xls download as a workbook: a `Contents` sheet, then `Data 1` holding `Back to Contents`, the
    `Sourcekey` row, `Date,<name> (<units>)` and the values oldest first, periods as date cells, a missing value as
    an empty cell. Written as .xlsx (`spreadsheets`), with the same sheets and cells."""
    from resources.simulated.spreadsheets import xlsx

    wire = WIRE[series_id]
    text = max((t for t, _ in FILE_UNITS if wire.header.endswith(t)), key=len)
    name = wire.header[: -len(text)].strip()
    values = published(seed, series_id, as_of).sort_index()
    data = [
        ["Back to Contents", f"Data 1: {wire.title}"],
        ["Sourcekey", series_id],
        ["Date", f"{name} ({text})"],
        *([p, None if v != v else float(_text(v, wire.decimals))] for p, v in values.items()),
    ]
    return xlsx({"Contents": [[wire.title], [wire.page], ["Data 1", wire.title]], "Data 1": data})


def write_files(folder: Path, seed: int, as_of: date) -> list[Path]:
    """Every series' download CSV as of the end of `as_of` (decision time), into `folder`."""
    from resources.settings import get_settings

    at = datetime.combine(as_of, get_settings().decision_time_utc, tzinfo=UTC)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for series_id in WIRE:
        if published(seed, series_id, at).empty:
            continue
        path = folder / file_name(series_id)
        path.write_bytes(download_csv(seed, series_id, at))
        written.append(path)
    return written
