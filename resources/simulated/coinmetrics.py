"""Coin Metrics community API v4 (`/v4/timeseries/asset-metrics`) and community CSVs, from the world's crypto frame.

Wire format as the real API: `{"data": [{"asset": "btc", "time": "2020-01-01T00:00:00.000000000Z", "PriceUSD":
"7200.17", ...}], "next_page_token": "...", "next_page_url": "..."}`, values as strings, rows ordered by (asset,
time) (or (time, asset) with `sort=time`), `page_size` (default 100, at most 10000), `paging_from` (default `end`),
`start_time`/`end_time` (inclusive by default), `null_as_zero`, and errors as `{"error": {"type", "message"}}`.
A metric an asset does not publish (ETH has no HashRate) is left out of that asset's rows while another requested
metric is supported; when an asset publishes none of the requested metrics, or a metric or asset is unknown, the
answer is a 400 `bad_parameter` error unless `ignore_unsupported_errors=true`.

Point in time: the publisher stands at the end of `app.as_of`; the daily value of UTC day D is public from D+1
06:00 UTC, so the as-of day's own row is not served yet. Coin Metrics restates history: a few times a year the
realized cap of a handful of past days is corrected (and MVRV with it), and every later answer shows the new value
(`restatements`). Values for a date never depend on the range asked for.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from resources.simulated.publisher import Request, Response, SimulatedPublisher, route
from resources.simulated.world import _stream, lengthened, world_for

ASSETS: tuple[str, ...] = ("btc", "eth")
INTEGER_METRICS = frozenset({"AdrActCnt"})
RESTATED_METRIC = "CapRealUSD"
DERIVED_FROM_RESTATED = "CapMVRVCur"  # market cap over realized cap: restated together
RESTATEMENTS_PER_YEAR = 4
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 10_000
_TIME = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:T(\d{2}):?(\d{2}):?(\d{2})(?:\.\d{1,9})?Z?)?$")
_TIME_FORMATS = (
    "'yyyy-MM-dd', 'yyyyMMdd', 'yyyy-MM-ddTHH:mm:ss', 'yyyy-MM-ddTHHmmss', 'yyyy-MM-ddTHH:mm:ss.SSS', "
    "'yyyy-MM-ddTHHmmss.SSS', 'yyyy-MM-ddTHH:mm:ss.SSSSSS', 'yyyy-MM-ddTHHmmss.SSSSSS', "
    "'yyyy-MM-ddTHH:mm:ss.SSSSSSSSS', 'yyyy-MM-ddTHHmmss.SSSSSSSSS'"
)


@dataclass(frozen=True)
class Restatement:
    effective: date  # first as-of date whose answers show the corrected value
    asset: str
    observed: date
    factor: float  # applied to CapRealUSD; CapMVRVCur is divided by it


class _BadParameter(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@lru_cache(maxsize=8)
def metrics_frame(seed: int, asset: str) -> pd.DataFrame:
    """Every simulated metric of `asset` from its first day, columns named as Coin Metrics names them."""
    crypto = world_for(seed).crypto
    prefix = f"{asset.upper()}_"
    frame = crypto[[c for c in crypto.columns if c.startswith(prefix)]].dropna(how="all")
    frame.columns = [c.removeprefix(prefix) for c in frame.columns]
    return frame[sorted(frame.columns)]


def supported_metrics(seed: int, asset: str) -> frozenset[str]:
    return frozenset(metrics_frame(seed, asset).columns)


@lru_cache(maxsize=8)
def restatements(seed: int, asset: str) -> tuple[Restatement, ...]:
    """Deterministic corrections: each year a few dates, each restating 1 to 5 consecutive days of the prior quarter."""
    days = metrics_frame(seed, asset).index
    rng = _stream(seed, f"coinmetrics/restatements/{asset}")
    events: list[Restatement] = []
    for year in range(days[0].year, days[-1].year + 1):
        in_year = np.flatnonzero(days.year == year)
        if len(in_year) < 120:
            continue
        for pos in sorted(rng.choice(in_year[100:], size=RESTATEMENTS_PER_YEAR, replace=False)):
            back = int(rng.integers(2, 90))
            length = int(rng.integers(1, 6))
            factor = float(1 + rng.choice([-1, 1]) * rng.uniform(0.002, 0.01))
            for k in range(length):
                events.append(Restatement(days[pos].date(), asset, days[pos - back - k].date(), factor))
    return tuple(events)


def history(seed: int, asset: str, as_of: date) -> pd.DataFrame:
    """The metrics of `asset` as Coin Metrics served them at the end of `as_of` (rows up to the day before)."""
    frame = metrics_frame(seed, asset)
    frame = frame[frame.index <= pd.Timestamp(as_of - timedelta(days=1))].copy()
    factors = _restatement_factors(seed, asset, as_of)
    if not factors.empty:
        factors = factors[factors.index.isin(frame.index)]
        frame.loc[factors.index, RESTATED_METRIC] *= factors.to_numpy()
        frame.loc[factors.index, DERIVED_FROM_RESTATED] /= factors.to_numpy()
    return frame


def _restatement_factors(seed: int, asset: str, as_of: date) -> pd.Series:
    known = [(pd.Timestamp(e.observed), e.factor) for e in restatements(seed, asset) if e.effective <= as_of]
    if not known:
        return pd.Series(dtype=float)
    series = pd.Series([f for _, f in known], index=pd.DatetimeIndex([d for d, _ in known]))
    return series.groupby(level=0).prod()


def format_value(metric: str, value: float) -> str | None:
    """A value as Coin Metrics writes it: a plain decimal string (no exponent), integers for counts."""
    if value != value:  # NaN
        return None
    if metric in INTEGER_METRICS:
        return str(round(value))
    return np.format_float_positional(value, precision=12, unique=False, fractional=False, trim="-")


@lru_cache(maxsize=8)
def _formatted(seed: int, asset: str) -> pd.DataFrame:
    """Every base value of `asset` formatted once (restated cells are formatted on the fly)."""
    frame = metrics_frame(seed, asset)
    columns = {m: pd.Series([format_value(m, v) for v in frame[m].to_numpy()], dtype=object) for m in frame.columns}
    return pd.DataFrame({m: c.to_numpy() for m, c in columns.items()}, index=frame.index, dtype=object)


def served_strings(seed: int, asset: str, as_of: date) -> pd.DataFrame:
    """`history` formatted as the API's strings (None where there is no value)."""
    base = metrics_frame(seed, asset)
    out = _formatted(seed, asset)
    out = out[out.index <= pd.Timestamp(as_of - timedelta(days=1))].copy()
    factors = _restatement_factors(seed, asset, as_of)
    if not factors.empty:
        factors = factors[factors.index.isin(out.index)]
        for day, factor in factors.items():
            for metric, value in (
                (RESTATED_METRIC, base.at[day, RESTATED_METRIC] * factor),
                (DERIVED_FROM_RESTATED, base.at[day, DERIVED_FROM_RESTATED] / factor),
            ):
                out.at[day, metric] = format_value(metric, value)
    return out


# --- the API ---------------------------------------------------------------------------------------------------


def _error(status: int, kind: str, message: str) -> Response:
    body = json.dumps({"error": {"type": kind, "message": message}}, separators=(",", ":")).encode()
    return Response(status, body, "application/json")


def _flag(request: Request, name: str, default: bool = False) -> bool:
    value = request.arg(name)
    if value is None or value == "":
        return default
    if value.lower() not in ("true", "false"):
        raise _BadParameter(f"Bad parameter '{name}'. Value '{value}' is not supported.")
    return value.lower() == "true"


def _list(request: Request, name: str) -> list[str]:
    value = request.arg(name)
    if not value:
        raise _BadParameter(f"Bad parameter '{name}'. Must be specified.")
    return [v.strip() for v in value.split(",") if v.strip()]


def _time(request: Request, name: str) -> pd.Timestamp | None:
    value = request.arg(name)
    if not value:
        return None
    match = _TIME.match(value)
    try:
        if not match:
            raise ValueError(value)
        parts = [int(g) if g is not None else 0 for g in match.groups()]
        return pd.Timestamp(*parts)
    except ValueError:
        raise _BadParameter(
            f"Bad parameter '{name}'. Incorrect time format '{value}'. Supported formats are {_TIME_FORMATS}."
        ) from None


def _page_size(request: Request) -> int:
    value = request.arg("page_size")
    if not value:
        return DEFAULT_PAGE_SIZE
    if not value.isdigit() or int(value) < 1:
        raise _BadParameter("Bad parameter 'page_size'. Must be a positive integer.")
    if int(value) > MAX_PAGE_SIZE:
        raise _BadParameter(f"Bad parameter 'page_size'. Must be at most {MAX_PAGE_SIZE}.")
    return int(value)


def _resolve(seed: int, assets: list[str], metrics: list[str], ignore_unsupported: bool) -> dict[str, list[str]]:
    """Requested metrics per served asset, with Coin Metrics' policy for unsupported combinations."""
    known_assets = [a for a in assets if a in ASSETS] if "*" not in assets else list(ASSETS)
    for asset in assets:
        if asset != "*" and asset not in ASSETS and not ignore_unsupported:
            raise _BadParameter(f"Bad parameter 'assets'. Value '{asset}' is not supported.")
    everything = frozenset().union(*(supported_metrics(seed, a) for a in ASSETS))
    for metric in metrics:
        if metric not in everything and not ignore_unsupported:
            raise _BadParameter(f"Bad parameter 'metrics'. Value '{metric}' is not supported.")
    plan: dict[str, list[str]] = {}
    for asset in sorted(set(known_assets)):
        supported = supported_metrics(seed, asset)
        served = [m for m in metrics if m in supported]
        if not served:
            if ignore_unsupported:
                continue
            raise _BadParameter(
                f"Bad parameter 'metrics'. Metric '{metrics[0]}' with frequency '1d' for asset '{asset}' "
                "is not supported."
            )
        plan[asset] = served
    return plan


def _token(day: pd.Timestamp, asset: str) -> str:
    return base64.urlsafe_b64encode(f"{day.date().isoformat()}|{asset}".encode()).decode().rstrip("=")


def _untoken(token: str) -> tuple[pd.Timestamp, str]:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        day, asset = text.split("|", 1)
        return pd.Timestamp(date.fromisoformat(day)), asset
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _BadParameter(f"Bad parameter 'next_page_token'. Value '{token}' is not valid.") from None


@route(r"/v4/timeseries/asset-metrics")
def _serve_asset_metrics(app: SimulatedPublisher, request: Request, match: object) -> Response:
    try:
        return _asset_metrics(app, request)
    except _BadParameter as exc:
        return _error(400, "bad_parameter", exc.message)


def _asset_metrics(app: SimulatedPublisher, request: Request) -> Response:
    assets = [a.lower() for a in _list(request, "assets")]
    metrics = _list(request, "metrics")
    frequency = request.arg("frequency") or "1d"
    ignore_unsupported = _flag(request, "ignore_unsupported_errors")
    _flag(request, "ignore_forbidden_errors")  # community data is never forbidden here; validated, then unused
    null_as_zero = _flag(request, "null_as_zero")
    pretty = _flag(request, "pretty")
    start_inclusive = _flag(request, "start_inclusive", default=True)
    end_inclusive = _flag(request, "end_inclusive", default=True)
    if frequency != "1d":
        raise _BadParameter(f"Bad parameter 'frequency'. Value '{frequency}' is not supported.")
    paging_from = request.arg("paging_from") or "end"
    sort = request.arg("sort") or "asset"
    if paging_from not in ("start", "end"):
        raise _BadParameter(f"Bad parameter 'paging_from'. Value '{paging_from}' is not supported.")
    if sort not in ("asset", "time"):
        raise _BadParameter(f"Bad parameter 'sort'. Value '{sort}' is not supported.")
    start, end = _time(request, "start_time"), _time(request, "end_time")
    page_size = _page_size(request)
    plan = _resolve(app.seed, assets, metrics, ignore_unsupported)

    items: list[tuple[tuple, dict[str, str | None]]] = []  # keyed by asset and day in ns (or day first)
    for asset, served in plan.items():
        frame = served_strings(app.seed, asset, app.as_of)[served]
        if start is not None:
            frame = frame[frame.index >= start] if start_inclusive else frame[frame.index > start]
        if end is not None:
            frame = frame[frame.index <= end] if end_inclusive else frame[frame.index < end]
        frame = frame[frame.notna().any(axis=1)]
        # days as nanoseconds and their text formatted at once: a Timestamp per row cost most of the response
        days, stamps = frame.index.as_unit("ns").asi8.tolist(), frame.index.strftime("%Y-%m-%dT00:00:00.000000000Z")
        for day, stamp, values in zip(days, stamps, frame.itertuples(index=False, name=None), strict=True):
            row: dict[str, str | None] = {"asset": asset, "time": stamp}
            for metric, value in zip(served, values, strict=True):
                text = value if isinstance(value, str) else None
                row[metric] = "0" if text is None and null_as_zero else text
            key = (asset, day) if sort == "asset" else (day, asset)
            items.append((key, row))
    items.sort(key=lambda item: item[0])

    token = request.arg("next_page_token")
    keys = [k for k, _ in items]
    if paging_from == "start":
        first = 0
        if token:
            day, asset = _untoken(token)
            first = _bisect_left(keys, (asset, day.value) if sort == "asset" else (day.value, asset))
        page = items[first : first + page_size]
        following = items[first + page_size] if first + page_size < len(items) else None
    else:
        stop = len(items)
        if token:
            day, asset = _untoken(token)
            stop = _bisect_left(keys, (asset, day.value) if sort == "asset" else (day.value, asset)) + 1
        page = items[max(0, stop - page_size) : stop]
        following = items[stop - page_size - 1] if stop - page_size - 1 >= 0 else None

    body: dict[str, object] = {"data": [row for _, row in page]}
    if following is not None:
        key = following[0]
        day, asset = (key[1], key[0]) if sort == "asset" else key
        next_token = _token(pd.Timestamp(day), asset)
        body["next_page_token"] = next_token
        body["next_page_url"] = _next_page_url(request, next_token)
    text = json.dumps(body, indent=2) if pretty else json.dumps(body, separators=(",", ":"))
    return Response(200, text.encode(), "application/json")


def _bisect_left(keys: list[tuple], key: tuple) -> int:
    lo, hi = 0, len(keys)
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


PUBLIC_BASE = "https://community-api.coinmetrics.io"


def _next_page_url(request: Request, token: str) -> str:
    """The page link as Coin Metrics writes it: on its public host, whatever host served the request.

    Keeping the public host (not the loopback port of this run) keeps the page bytes identical from run to run;
    the client sends the token to its own endpoint, as Coin Metrics' own client does.
    """
    params = [(k, v) for k, values in request.query.items() if k != "next_page_token" for v in values]
    params.append(("next_page_token", token))
    return f"{PUBLIC_BASE}{request.path}?{urlencode(params, safe=',*')}"


# --- community CSV downloads -----------------------------------------------------------------------------------


def community_csv(seed: int, asset: str, as_of: date, *, rows: int | None = None) -> bytes:
    """`<asset>.csv` as the community data downloads show it at the end of `as_of` (`time` column, empty cells);
    with `rows`, exactly that many days (see `world.lengthened`)."""
    frame = served_strings(seed, asset, as_of)
    if rows is not None:
        frame = lengthened(frame, rows, business_days=False)
    lines = [",".join(["time", *frame.columns])]
    for day, values in zip(frame.index, frame.itertuples(index=False, name=None), strict=True):
        lines.append(",".join([f"{day:%Y-%m-%d}", *(v if isinstance(v, str) else "" for v in values)]))
    return ("\n".join(lines) + "\n").encode("ascii")


def write_files(folder: Path, seed: int, as_of: date) -> list[Path]:
    """Write `btc.csv` and `eth.csv` (community CSV format) into `folder`, as published at the end of `as_of`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for asset in ASSETS:
        path = folder / f"{asset}.csv"
        path.write_bytes(community_csv(seed, asset, as_of))
        paths.append(path)
    return paths


def scaled_asset(asset: str, copy: int) -> str:
    """The asset id of a scaled universe's `copy`-th replica of `asset` (0: the asset itself), e.g. `btcx2`."""
    return asset if copy == 0 else f"{asset}x{copy + 1}"


def write_scaled_files(folder: Path, seed: int, as_of: date, *, assets: int, years: int) -> list[Path]:
    """A scaled universe for benchmarks and parity tests: `assets` community CSVs (btc, eth, then replicas named by
    `scaled_asset`, same values and restatements) holding the last `years` years up to `as_of`.

    Replicas carry an `asset` column (a layout the parser reads), so the scaled lake also exercises that layout;
    a byte-identical copy under another file name would be kept too (bronze keys payloads by bytes and dataset)."""
    folder.mkdir(parents=True, exist_ok=True)
    since = as_of.replace(year=as_of.year - years).isoformat()
    texts: dict[str, tuple[str, list[str]]] = {}
    paths = []
    for i in range(assets):
        base, copy = ASSETS[i % len(ASSETS)], i // len(ASSETS)
        if base not in texts:
            header, *lines = community_csv(seed, base, as_of).decode("ascii").splitlines()
            texts[base] = (header, [line for line in lines if line[:10] > since])
        header, lines = texts[base]
        asset = scaled_asset(base, copy)
        if copy:
            first, rest = header.split(",", 1)
            header = f"{first},asset,{rest}"
            lines = [f"{line[:10]},{asset}{line[10:]}" for line in lines]
        path = folder / f"{asset}.csv"
        path.write_text("\n".join([header, *lines]) + "\n")
        paths.append(path)
    return paths
