"""COT through the Public Reporting Environment (Socrata): `/resource/<dataset-id>.json` with SoQL, paging and
Socrata's errors, over the published reports (`reports.published`)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache

import numpy as np
import pandas as pd

from resources.simulated.cot.reports import MARKETS, as_of_time, published
from resources.simulated.publisher import Request, Response, SimulatedPublisher, route
from resources.sources.cot.layouts import (
    LAYOUTS,
    MARKET_CODE,
    MARKET_NAME,
    REPORT_DATE_API,
    ReportKind,
    ReportLayout,
)

# ---------------------------------------------------------------------------------------------------------------
# Socrata: records, SoQL and errors
# ---------------------------------------------------------------------------------------------------------------
DATASETS: dict[str, tuple[ReportKind, bool]] = {
    dataset_id: (report, futures_only)
    for report, layout in LAYOUTS.items()
    for futures_only, dataset_id in layout.dataset_ids.items()
}


def warm(seed: int, as_of: date) -> None:
    """Compute every dataset as served at `as_of` now, which the first request of each dataset would otherwise do
    inside its response time (seconds on the shared machine): tests that time requests call it first."""
    moment = as_of_time(seed, as_of)
    for report, futures_only in DATASETS.values():
        published(seed, report, futures_only, moment)


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
