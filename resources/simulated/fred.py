"""FRED's API (with ALFRED vintages) and CSV downloads, as the St. Louis Fed serves them, from the world.

Routes: `/fred/series/observations` and `/fred/series` under the publisher's base URL (`endpoints.fred`), in XML
(FRED's default) or JSON (`file_type`), with `realtime_start`/`realtime_end`, `observation_start`/
`observation_end`, `limit` (1..100000, default 100000)/`offset`, `sort_order`, `output_type=1` and `units=lin`.
Errors are FRED's: HTTP 400 with `<error code="400" message="..."/>` or `{"error_code":400,"error_message":..}`.

Values come from `world.daily` on every weekday, rounded as FRED shows them (2 decimals for indexes and yields,
4 for DEXUSEU and DTWEXBGS), `.` where the market was closed (and, for the H.15 and H.10 series, on federal
holidays). T10Y2Y and T10Y3M are differences of the rounded yields.

Vintages: an observation's first vintage starts on its first release by FRED's calendar
(`resources.sources.fred.calendar`: next business day, or the next weekly H.10 release for exchange rates and
the dollar index). Later vintages are revisions: about 30% of DTWEXBGS values are revised at the next H.10
release, and about three SP500 closes a year are corrected 1 to 5 business days after release. The publisher
answers as of the end of `app.as_of`: no vintage starts after it, the current vintage ends 9999-12-31, and the
defaults of realtime_start/realtime_end are that day ("today"). All random draws cover the world's whole
horizon at once, so a date's values never depend on the as-of date or the requested range.

Not simulated: FRED's rolling ten-year window of SP500 history, output_type 2-4, units other than `lin` and
frequency aggregation (answered with a 400 that says so), and exchange rates on Good Friday (FRED has them; the
world's calendar has no such day).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import quoteattr
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from resources.simulated.publisher import Request, Response, SimulatedPublisher, route
from resources.simulated.world import EPOCH, HORIZON, _stream, lengthened, world_for
from resources.sources.fred.calendar import first_release, is_business_day, next_business_day

CHICAGO = ZoneInfo("America/Chicago")
API_KEY_HELP = "Read https://fred.stlouisfed.org/docs/api/api_key.html for more information."
_KEY = re.compile(r"^[a-z0-9]{32}$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EARLIEST = np.datetime64("1776-07-04", "D")
_LATEST = np.datetime64("9999-12-31", "D")
_ONE_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class SeriesDef:
    """What FRED says about a series, and how the simulated one is made from the world."""

    title: str
    units: str
    units_short: str
    decimals: int
    source: tuple[str, ...]  # world column, or (minuend, subtrahend) of two other FRED series
    first_date: date = EPOCH
    frequency: str = "Daily"
    popularity: int = 85
    federal_holidays_closed: bool = True  # H.15 and H.10 have no value on federal holidays
    updated_at_ct: time = time(15, 16, 2)  # time of day FRED's last_updated shows, Central time


_H15 = "Market Yield on U.S. Treasury Securities at {} Constant Maturity, Quoted on an Investment Basis"
SERIES: dict[str, SeriesDef] = {
    "SP500": SeriesDef(
        title="S&P 500",
        units="Index",
        units_short="Index",
        decimals=2,
        source=("SPX",),
        frequency="Daily, Close",
        popularity=83,
        federal_holidays_closed=False,
        updated_at_ct=time(8, 5, 11),
    ),
    "NASDAQ100": SeriesDef(
        title="NASDAQ 100 Index",
        units="Index Feb 1, 1985=125",
        units_short="Index Feb 1, 1985=125",
        decimals=2,
        source=("NDX",),
        frequency="Daily, Close",
        popularity=68,
        federal_holidays_closed=False,
        updated_at_ct=time(8, 5, 40),
    ),
    "DGS10": SeriesDef(title=_H15.format("10-Year"), units="Percent", units_short="%", decimals=2, source=("DGS10",)),
    "DGS2": SeriesDef(title=_H15.format("2-Year"), units="Percent", units_short="%", decimals=2, source=("DGS2",)),
    "DGS3MO": SeriesDef(title=_H15.format("3-Month"), units="Percent", units_short="%", decimals=2, source=("DGS3MO",)),
    "T10Y2Y": SeriesDef(
        title="10-Year Treasury Constant Maturity Minus 2-Year Treasury Constant Maturity",
        units="Percent",
        units_short="%",
        decimals=2,
        source=("DGS10", "DGS2"),
        popularity=99,
        updated_at_ct=time(15, 21, 3),
    ),
    "T10Y3M": SeriesDef(
        title="10-Year Treasury Constant Maturity Minus 3-Month Treasury Constant Maturity",
        units="Percent",
        units_short="%",
        decimals=2,
        source=("DGS10", "DGS3MO"),
        popularity=91,
        updated_at_ct=time(15, 21, 4),
    ),
    "DEXUSEU": SeriesDef(
        title="U.S. Dollars to Euro Spot Exchange Rate",
        units="U.S. Dollars to One Euro",
        units_short="U.S. $ to 1 Euro",
        decimals=4,
        source=("DEXUSEU",),
        popularity=78,
        updated_at_ct=time(15, 17, 3),
    ),
    "DEXJPUS": SeriesDef(
        title="Japanese Yen to U.S. Dollar Spot Exchange Rate",
        units="Japanese Yen to One U.S. Dollar",
        units_short="Yen to 1 U.S. $",
        decimals=2,
        source=("DEXJPUS",),
        popularity=74,
        updated_at_ct=time(15, 17, 3),
    ),
    "DTWEXBGS": SeriesDef(
        title="Nominal Broad U.S. Dollar Index",
        units="Index Jan 2006=100",
        units_short="Index Jan 2006=100",
        decimals=4,
        source=("DTWEXBGS",),
        first_date=date(2006, 1, 2),
        popularity=80,
        updated_at_ct=time(15, 17, 4),
    ),
}
DTWEXBGS_REVISED_SHARE = 0.30
SP500_CORRECTIONS_PER_YEAR = 3


@dataclass(frozen=True)
class Vintages:
    """Every vintage of a series over the world's horizon, sorted by (date, realtime_start)."""

    dates: np.ndarray  # datetime64[D]
    starts: np.ndarray  # datetime64[D], the vintage's realtime_start
    next_starts: np.ndarray  # datetime64[D], the next vintage's start for the same date (NaT for the last)
    values: np.ndarray  # float64, NaN where FRED shows '.'
    texts: np.ndarray  # object: the value as FRED prints it


def _weekdays(first: date) -> pd.DatetimeIndex:
    return pd.bdate_range(first, HORIZON)


@lru_cache(maxsize=32)
def _levels(seed: int, series_id: str) -> pd.Series:
    """First-release values on every weekday from the series' first date (NaN where FRED shows '.')."""
    spec = SERIES[series_id]
    days = _weekdays(spec.first_date)
    if len(spec.source) == 2:
        values = _levels(seed, spec.source[0]) - _levels(seed, spec.source[1])
        values = values.reindex(days)
    else:
        values = world_for(seed).daily[spec.source[0]].reindex(days)
    if spec.federal_holidays_closed:
        open_days = np.array([is_business_day(d.date()) for d in days])
        values = values.where(open_days)
    return values.round(spec.decimals) + 0.0  # + 0.0 turns -0.0 into 0.0, as FRED prints it


def _revisions(seed: int, series_id: str, levels: pd.Series, firsts: list[date]) -> list[tuple[int, date, float]]:
    """(row of `levels`, realtime_start, revised value) of the series' later vintages."""
    spec = SERIES[series_id]
    n = len(levels)
    values = levels.to_numpy()
    out: list[tuple[int, date, float]] = []
    if series_id == "DTWEXBGS":
        rng = _stream(seed, "fred/revisions/DTWEXBGS")
        u, z = rng.random(n), rng.standard_normal(n)
        for i in np.flatnonzero((u < DTWEXBGS_REVISED_SHARE) & ~np.isnan(values)):
            revised = round(float(values[i]) * (1 + 0.0004 * z[i]), spec.decimals) + 0.0
            if revised != values[i]:
                out.append((int(i), first_release(series_id, firsts[i]), revised))  # the next weekly H.10
    elif series_id == "SP500":
        rng = _stream(seed, "fred/revisions/SP500")
        u, lag = rng.random(n), rng.integers(1, 6, n)
        size = rng.choice([-1.0, 1.0], n) * rng.uniform(0.0005, 0.003, n)
        for i in np.flatnonzero((u < SP500_CORRECTIONS_PER_YEAR / 252) & ~np.isnan(values)):
            revised = round(float(values[i]) * (1 + size[i]), spec.decimals) + 0.0
            start = firsts[i]
            for _ in range(int(lag[i])):
                start = next_business_day(start)
            if revised != values[i]:
                out.append((int(i), start, revised))
    return out


def _format(value: float, decimals: int) -> str:
    return "." if np.isnan(value) else f"{value:.{decimals}f}"


@lru_cache(maxsize=32)
def vintages(seed: int, series_id: str) -> Vintages:
    spec = SERIES[series_id]
    levels = _levels(seed, series_id)
    days = list(levels.index.date)  # at once: a Timestamp per day was half of this function
    firsts = [first_release(series_id, d) for d in days]
    rows = [(d, s, float(v)) for d, s, v in zip(days, firsts, levels.to_numpy(), strict=True)]
    rows += [(days[i], start, value) for i, start, value in _revisions(seed, series_id, levels, firsts)]
    frame = pd.DataFrame(rows, columns=["date", "start", "value"]).sort_values(["date", "start"], kind="stable")
    dates = frame["date"].to_numpy(dtype="datetime64[D]")
    starts = frame["start"].to_numpy(dtype="datetime64[D]")
    same_next = np.r_[dates[1:] == dates[:-1], False]
    next_starts = np.where(same_next, np.r_[starts[1:], np.datetime64("NaT", "D")], np.datetime64("NaT", "D"))
    values = frame["value"].to_numpy(dtype=float)
    texts = np.array([_format(v, spec.decimals) for v in values], dtype=object)
    return Vintages(dates, starts, next_starts.astype("datetime64[D]"), values, texts)


def vintage_rows(seed: int, series_id: str, as_of: date) -> pd.DataFrame:
    """Every vintage visible at the end of `as_of`: date, realtime_start, realtime_end (9999-12-31 if current)."""
    v = vintages(seed, series_id)
    cut = np.datetime64(as_of, "D")
    visible = v.starts <= cut
    ends = np.where(v.next_starts <= cut, v.next_starts - _ONE_DAY, _LATEST)
    return pd.DataFrame(
        {
            "date": v.dates[visible],
            "realtime_start": v.starts[visible],
            "realtime_end": ends[visible],
            "value": v.values[visible],
            "text": v.texts[visible],
        }
    )


def latest_values(seed: int, series_id: str, as_of: date) -> pd.DataFrame:
    """The values a CSV download shows at the end of `as_of`: each released observation's current vintage."""
    rows = vintage_rows(seed, series_id, as_of)
    return rows[rows["realtime_end"] == _LATEST].reset_index(drop=True)


def last_updated(seed: int, series_id: str, as_of: date) -> datetime | None:
    """When FRED last posted to the series by the end of `as_of` (Central time, as FRED states it)."""
    rows = vintage_rows(seed, series_id, as_of)
    if rows.empty:
        return None
    day = pd.Timestamp(rows["realtime_start"].max()).date()
    return datetime.combine(day, SERIES[series_id].updated_at_ct, tzinfo=CHICAGO)


# --- the API ---------------------------------------------------------------------------------------------------


class _BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _error(message: str, file_type: str, status: int = 400) -> Response:
    if file_type == "json":
        body = json.dumps({"error_code": status, "error_message": message}, separators=(",", ":"))
        return Response(status, body.encode(), "application/json; charset=UTF-8")
    body = f'<?xml version="1.0" encoding="utf-8" ?>\n<error code="{status}" message={quoteattr(message)}/>\n'
    return Response(status, body.encode(), "text/xml; charset=UTF-8")


def _date_arg(request: Request, name: str, default: np.datetime64) -> np.datetime64:
    text = request.arg(name)
    if text is None or text == "":
        return default
    if not _ISO.match(text):
        raise _BadRequest(f"Bad Request.  Variable {name} is not a valid date in the format YYYY-MM-DD.")
    try:
        return np.datetime64(date.fromisoformat(text), "D")
    except ValueError:
        raise _BadRequest(f"Bad Request.  Variable {name} is not a valid date in the format YYYY-MM-DD.") from None


def _int_arg(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.arg(name)
    if text is None or text == "":
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise _BadRequest(f"Bad Request.  Variable {name} is not an integer between {low} and {high}.")
    return int(text)


def _check_common(app: SimulatedPublisher, request: Request) -> tuple[str, np.datetime64, np.datetime64]:
    """The series id and real-time period of a request, after FRED's key and series checks."""
    key = request.arg("api_key")
    if not key:
        raise _BadRequest(f"Bad Request.  Variable api_key is not set.  {API_KEY_HELP}")
    if not _KEY.match(key):
        raise _BadRequest(
            f"Bad Request.  The value for variable api_key is not a 32 character alpha-numeric lower-case string.  "
            f"{API_KEY_HELP}"
        )
    series_id = request.arg("series_id")
    if not series_id:
        raise _BadRequest("Bad Request.  Variable series_id is not set.")
    today = np.datetime64(app.as_of, "D")
    realtime_start = _date_arg(request, "realtime_start", today)
    realtime_end = _date_arg(request, "realtime_end", today)
    if realtime_start > realtime_end:
        raise _BadRequest("Bad Request.  The value for variable realtime_start is after realtime_end.")
    series_id = series_id.upper()  # FRED matches series ids without regard to case
    spec = SERIES.get(series_id)
    if spec is None or first_release(series_id, spec.first_date) > app.as_of:
        raise _BadRequest("Bad Request.  The series does not exist.")
    return series_id, realtime_start, realtime_end


def _file_type(request: Request) -> str:
    file_type = request.arg("file_type", "xml") or "xml"
    if file_type not in ("xml", "json"):
        raise _BadRequest("Bad Request.  Variable file_type is not one of the values: xml, json.")
    return file_type


@route(r"/fred/series/observations")
def _serve_observations(app: SimulatedPublisher, request: Request, match: object) -> Response:
    requested = request.arg("file_type", "xml")
    try:
        file_type = _file_type(request)
        series_id, rt_start, rt_end = _check_common(app, request)
        obs_start = _date_arg(request, "observation_start", _EARLIEST)
        obs_end = _date_arg(request, "observation_end", _LATEST)
        limit = _int_arg(request, "limit", 100_000, 1, 100_000)
        offset = _int_arg(request, "offset", 0, 0, 10**9)
        sort_order = request.arg("sort_order", "asc") or "asc"
        if sort_order not in ("asc", "desc"):
            raise _BadRequest("Bad Request.  Variable sort_order is not one of the values: 'asc', 'desc'.")
        if (request.arg("output_type", "1") or "1") != "1":
            raise _BadRequest("Bad Request.  This publisher serves output_type 1 (observations by real-time period).")
        if (request.arg("units", "lin") or "lin") != "lin":
            raise _BadRequest("Bad Request.  This publisher serves units 'lin' only.")
        if (request.arg("frequency", "") or "d") != "d":
            raise _BadRequest("Bad Request.  This publisher serves the native (daily) frequency only.")
    except _BadRequest as exc:
        return _error(exc.message, "json" if requested == "json" else "xml")

    rows = vintage_rows(app.seed, series_id, app.as_of)
    dates = rows["date"].to_numpy(dtype="datetime64[D]")
    starts = rows["realtime_start"].to_numpy(dtype="datetime64[D]")
    ends = rows["realtime_end"].to_numpy(dtype="datetime64[D]")
    keep = (starts <= rt_end) & (ends >= rt_start) & (dates >= obs_start) & (dates <= obs_end)
    dates, texts = dates[keep], rows["text"].to_numpy()[keep]
    starts, ends = np.maximum(starts[keep], rt_start), np.minimum(ends[keep], rt_end)
    order = np.arange(len(dates)) if sort_order == "asc" else np.lexsort((starts, -dates.astype(np.int64)))
    page = order[offset : offset + limit]
    envelope = {
        "realtime_start": str(rt_start),
        "realtime_end": str(rt_end),
        "observation_start": str(obs_start),
        "observation_end": str(obs_end),
        "units": "lin",
        "output_type": 1,
        "file_type": file_type,
        "order_by": "observation_date",
        "sort_order": sort_order,
        "count": len(dates),
        "offset": offset,
        "limit": limit,
    }
    records = [
        {"realtime_start": str(starts[i]), "realtime_end": str(ends[i]), "date": str(dates[i]), "value": texts[i]}
        for i in page
    ]
    if file_type == "json":
        body = json.dumps({**envelope, "observations": records}, separators=(",", ":"))
        return Response(200, body.encode(), "application/json; charset=UTF-8")
    head = " ".join(f'{k}="{v}"' for k, v in envelope.items())
    lines = ['<?xml version="1.0" encoding="utf-8" ?>', f"<observations {head}>"]
    lines += [
        f'  <observation realtime_start="{r["realtime_start"]}" realtime_end="{r["realtime_end"]}" '
        f'date="{r["date"]}" value="{r["value"]}"/>'
        for r in records
    ]
    lines.append("</observations>")
    return Response(200, ("\n".join(lines) + "\n").encode(), "text/xml; charset=UTF-8")


def _fred_time(moment: datetime) -> str:
    """FRED's last_updated format: `2013-07-31 09:26:16-05` (Central time, hour-only offset)."""
    offset = moment.utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset is not None else 0
    return f"{moment:%Y-%m-%d %H:%M:%S}{'-' if hours < 0 else '+'}{abs(hours):02d}"


@route(r"/fred/series")
def _serve_series(app: SimulatedPublisher, request: Request, match: object) -> Response:
    requested = request.arg("file_type", "xml")
    try:
        file_type = _file_type(request)
        series_id, rt_start, rt_end = _check_common(app, request)
    except _BadRequest as exc:
        return _error(exc.message, "json" if requested == "json" else "xml")
    spec = SERIES[series_id]
    released = latest_values(app.seed, series_id, app.as_of)
    updated = last_updated(app.seed, series_id, app.as_of)
    assert updated is not None  # the series exists at as_of, so something was released
    item: dict[str, object] = {
        "id": series_id,
        "realtime_start": str(rt_start),
        "realtime_end": str(rt_end),
        "title": spec.title,
        "observation_start": str(released["date"].min().date()),
        "observation_end": str(released["date"].max().date()),
        "frequency": spec.frequency,
        "frequency_short": "D",
        "units": spec.units,
        "units_short": spec.units_short,
        "seasonal_adjustment": "Not Seasonally Adjusted",
        "seasonal_adjustment_short": "NSA",
        "last_updated": _fred_time(updated),
        "popularity": spec.popularity,
    }
    if file_type == "json":
        body = json.dumps(
            {"realtime_start": str(rt_start), "realtime_end": str(rt_end), "seriess": [item]}, separators=(",", ":")
        )
        return Response(200, body.encode(), "application/json; charset=UTF-8")
    attrs = " ".join(f"{k}={quoteattr(str(v))}" for k, v in item.items())
    body = (
        '<?xml version="1.0" encoding="utf-8" ?>\n'
        f'<seriess realtime_start="{rt_start}" realtime_end="{rt_end}">\n  <series {attrs}/>\n</seriess>\n'
    )
    return Response(200, body.encode(), "text/xml; charset=UTF-8")


# --- CSV downloads -------------------------------------------------------------------------------------------------


def download_csv(seed: int, series_id: str, as_of: date, *, layout: str = "current", rows: int | None = None) -> bytes:
    """The series' "Download CSV" file at the end of `as_of`: `current` (observation_date, empty cells) or `old`;
    with `rows`, exactly that many observations (see `world.lengthened`)."""
    shown = latest_values(seed, series_id, as_of)
    if rows is not None:  # every simulated series is daily (business days)
        shown = lengthened(shown.set_index("date"), rows, business_days=True).reset_index(names="date")
    dates = pd.DatetimeIndex(shown["date"]).strftime("%Y-%m-%d")
    if layout == "current":
        texts = ["" if t == "." else t for t in shown["text"]]
        lines = [f"observation_date,{series_id}", *(f"{d},{t}" for d, t in zip(dates, texts, strict=True))]
    elif layout == "old":
        lines = [f"DATE,{series_id}", *(f"{d},{t}" for d, t in zip(dates, shown["text"], strict=True))]
    else:
        raise ValueError(f"unknown layout {layout!r}")
    return ("\n".join(lines) + "\n").encode("ascii")


def graph_csv(seed: int, series_ids: Sequence[str], as_of: date) -> bytes:
    """`fredgraph.csv`, the download of a graph of several series: `observation_date,<ID1>,<ID2>,...` over the
    union of their dates, an empty cell where a series has no observation or a missing one."""
    texts = {
        series_id: latest_values(seed, series_id, as_of).set_index("date")["text"].replace(".", "")
        for series_id in series_ids
    }
    frame = pd.DataFrame(texts).sort_index().fillna("")
    dates = pd.DatetimeIndex(frame.index).strftime("%Y-%m-%d")
    lines = [",".join(["observation_date", *series_ids])]
    lines += [",".join([d, *row]) for d, row in zip(dates, frame.itertuples(index=False, name=None), strict=True)]
    return ("\n".join(lines) + "\n").encode("ascii")


def text_download(seed: int, series_id: str, as_of: date) -> bytes:
    """`fred.stlouisfed.org/data/<ID>.txt` at the end of `as_of`: `Key: value` lines (Notes wrapping over several),
    a blank line, `DATE  VALUE`, then space-aligned rows with `.` for a missing value; CRLF line ends."""
    spec = SERIES[series_id]
    shown = latest_values(seed, series_id, as_of)
    dates = pd.DatetimeIndex(shown["date"]).strftime("%Y-%m-%d")
    updated = last_updated(seed, series_id, as_of)
    fields = {
        "Title": spec.title,
        "Series ID": series_id,
        "Source": "Simulated publisher (Nexus)",
        "Units": spec.units,
        "Frequency": spec.frequency,
        "Date Range": f"{dates[0]} to {dates[-1]}",
        "Last Updated": f"{updated:%Y-%m-%d %I:%M %p} CT" if updated else "",
        "Notes": "Values are those current when the file was made; earlier vintages are",
    }
    lines = [f"{f'{key}:':<21}{value}".rstrip() for key, value in fields.items()]
    lines += [" " * 21 + "in the API's observations with realtime periods.", "", f"{'DATE':<12}{'VALUE':>9}"]
    lines += [f"{d:<12}{t:>9}" for d, t in zip(dates, shown["text"], strict=True)]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def write_files(folder: Path, seed: int, as_of: date) -> list[Path]:
    """Every simulated series as FRED's CSV download, in both layouts: `<ID>.csv` and `<ID>_old_layout.csv`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for series_id, spec in SERIES.items():
        if first_release(series_id, spec.first_date) > as_of:
            continue
        for layout, name in (("current", f"{series_id}.csv"), ("old", f"{series_id}_old_layout.csv")):
            path = folder / name
            path.write_bytes(download_csv(seed, series_id, as_of, layout=layout))
            written.append(path)
    return written


__all__ = [
    "SERIES",
    "download_csv",
    "graph_csv",
    "last_updated",
    "latest_values",
    "text_download",
    "vintage_rows",
    "vintages",
    "write_files",
]


def write_scaled_files(folder: Path, seed: int, as_of: date, *, series: int, years: int) -> list[Path]:
    """A scaled universe for benchmarks: `series` CSV downloads (the simulated series, then renamed copies such as
    `DGS10X2`) holding the last `years` years up to `as_of`. Scale is measured offline with the real formats."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [s for s, spec in SERIES.items() if first_release(s, spec.first_date) <= as_of]
    since = as_of.replace(year=as_of.year - years).isoformat()
    written = []
    for i in range(series):
        base = names[i % len(names)]
        series_id = base if i < len(names) else f"{base}X{i // len(names) + 1}"
        text = download_csv(seed, base, as_of).decode()
        header, *lines = text.splitlines()
        kept = [line for line in lines if line[:10] >= since]
        path = folder / f"{series_id}.csv"
        path.write_text("\n".join([header.replace(base, series_id), *kept]) + "\n")
        written.append(path)
    return written
