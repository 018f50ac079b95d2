"""Any lake table as it was known, or as it was stored, at an instant; and point-in-time joins for quants.

Two clocks, never mixed up:
- knowledge time (`known_at`): what the world had published by T. A silver table keeps, per natural key (its
  spec's `keys`), the latest version whose `available_at` is at or before T; a mart or gold table keeps the rows
  whose decision time (`decision_at`, else its date column at NEXUS_DECISION_TIME_UTC) is at or before T, and the
  look-ahead labels (fct_labels_daily's fwd_return_<h>) show only those known by T (label_known_at_<h>).
- storage time (`stored_at`): what the lake held at T, the Delta version current then (audits, feed replays).
  Delta keeps old versions only until a vacuum removes their files, so this reaches back as far as the retention.

Everything reads through resources.lake.delta (one reader for the whole project).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import duckdb
import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable

from resources.analyst_sql import history_relation
from resources.lake.delta import open_table, scan
from resources.lake.point_in_time_join import FeatureIndex, asof_join
from resources.lake.storage import ZONES, LakeStorage, Zone
from resources.lake.tables import TableSpec

SPEC_MODULES = tuple(f"resources.sources.{name}.spec" for name in ("cboe", "coinmetrics", "cot", "eia", "fred"))
# A mart or gold table's "when" column when it has no decision_at; first match wins.
DECISION_DATE_COLUMNS = ("decision_date", "trade_date", "signal_date", "date", "as_of")


# Features prepared for pit_join, per (lake, table, Delta version, decision time): a quant's second call on the same
# table version joins at once instead of reading and preparing the table again (a few hundred ms on a full lake).
_INDEXES: dict[tuple[str, str, int, time], FeatureIndex] = {}
_INDEXES_KEPT = 4


class UnknownTableError(LookupError):
    """No Delta table by that name in the lake."""


def as_utc(instant: datetime | date | str) -> datetime:
    """A timestamp in UTC; a naive one is taken as UTC, a bare date as its midnight UTC."""
    if isinstance(instant, str):
        instant = pd.Timestamp(instant).to_pydatetime()
    if not isinstance(instant, datetime):
        instant = datetime.combine(instant, time(0))
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def silver_specs() -> dict[str, TableSpec]:
    """Every silver table contract the sources declare, by name (`fred/observations`)."""
    specs: dict[str, TableSpec] = {}
    for module_name in SPEC_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        for value in vars(module).values():
            candidates = value.values() if isinstance(value, dict) else value if isinstance(value, tuple) else [value]
            for spec in candidates:
                if isinstance(spec, TableSpec) and spec.zone == "silver":
                    specs[spec.name] = spec
    return specs


@dataclass(frozen=True)
class TableRef:
    zone: Zone
    name: str
    uri: str


@dataclass(frozen=True)
class TimeTravel:
    """The lake seen through the two clocks. `decision_time_utc` is the settings' NEXUS_DECISION_TIME_UTC."""

    lake: LakeStorage
    decision_time_utc: time

    @classmethod
    def from_settings(cls, settings) -> TimeTravel:  # noqa: ANN001 (resources.settings.Settings)
        return cls(LakeStorage.from_settings(settings), settings.decision_time_utc)

    def resolve(self, name: str) -> TableRef:
        """`silver/fred/observations`, `fred/observations`, `gold/marts/fct_features_daily` or `fct_features_daily`."""
        parts = name.strip("/").split("/")
        if parts[0] in ZONES:
            candidates = [(parts[0], "/".join(parts[1:]))]
        elif len(parts) == 1:
            candidates = [("gold", f"marts/{name}"), ("gold", name), ("silver", name)]
        else:
            candidates = [("silver", name), ("gold", name)]
        for zone, rel in candidates:
            uri = self.lake.uri(zone, *rel.split("/"))  # type: ignore[arg-type]
            if open_table(self.lake, uri) is not None:
                return TableRef(zone, rel, uri)  # type: ignore[arg-type]
        raise UnknownTableError(f"no Delta table {name!r} in the lake at {self.lake.root_uri}")

    def cutoff_date(self, known_at: datetime) -> date:
        """The last day D whose decision time (D at decision_time_utc) is at or before `known_at`."""
        day = known_at.date()
        return day if known_at.timetz().replace(tzinfo=None) >= self.decision_time_utc else day - timedelta(days=1)

    def stored_table(self, uri: str, stored_at: datetime | None) -> DeltaTable | None:
        table = open_table(self.lake, uri)
        if table is not None and stored_at is not None:
            first = min(entry["timestamp"] for entry in table.history())  # ms since epoch
            if stored_at.timestamp() * 1000 < first:
                return None  # the table did not exist yet
            table.load_as_version(stored_at)
        return table

    def read(
        self, name: str, known_at: datetime | date | str | None = None, stored_at: datetime | date | str | None = None
    ) -> pa.Table:
        """The table as known at `known_at` (per the two rules above), read from the version stored at `stored_at`."""
        return self.read_ref(
            self.resolve(name),
            as_utc(known_at) if known_at is not None else None,
            as_utc(stored_at) if stored_at is not None else None,
        )

    def ref_for_uri(self, uri: str) -> TableRef:
        for zone in ZONES:
            if uri.startswith(self.lake.uri(zone) + "/"):
                return TableRef(zone, self.lake.relative_name(uri, zone), uri)
        raise UnknownTableError(f"{uri} is not in the lake at {self.lake.root_uri}")

    def read_ref(self, ref: TableRef, known_at: datetime | None, stored_at: datetime | None) -> pa.Table:
        table = self.stored_table(ref.uri, stored_at)
        if table is None:  # not created yet at stored_at: its current schema, no rows
            current = open_table(self.lake, ref.uri)
            return pa.schema(current.schema().to_arrow()).empty_table() if current is not None else pa.table({})
        data = scan(self.lake, table, ref.uri)
        return data if known_at is None else self.known(ref, data, known_at)

    def known(self, ref: TableRef, data: pa.Table, known_at: datetime) -> pa.Table:
        """Filter rows already read to what was known at `known_at`."""
        sql = self.known_sql(ref, data.schema, "data", known_at)
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            con.register("data", data)
            return con.sql(sql).to_arrow_table().cast(data.schema)

    def known_sql(self, ref: TableRef, schema: pa.Schema, relation: str, known_at: datetime | str) -> str:
        """A DuckDB query over `relation` (a table with `schema`) keeping what was known at `known_at`: an instant,
        or a SQL expression for one (the parameter of the `<table>_as_of(instant)` macros)."""
        names = set(schema.names)
        literal = isinstance(known_at, datetime)
        instant = f"timestamptz '{known_at.isoformat()}'" if literal else f"({known_at})::timestamptz"
        if ref.zone == "silver":
            if "available_at" not in names:
                return f"select * from {relation}"  # reference tables: configuration, not published facts
            spec = silver_specs().get(ref.name)
            keys = list(spec.keys) if spec is not None else []
            order = "available_at desc" + (", version desc" if "version" in names else "")
            latest = f" qualify row_number() over (partition by {_columns(keys)} order by {order}) = 1" if keys else ""
            return f"select * from {relation} where available_at <= {instant}{latest}"
        if "decision_at" in names:
            return f"select * from {relation} where decision_at <= {instant}"
        column = next((c for c in DECISION_DATE_COLUMNS if c in names), None)
        if column is None:
            return f"select * from {relation}"  # no time axis (dim_instruments): the same at every instant
        if pa.types.is_timestamp(schema.field(column).type):
            return f"select * from {relation} where {_columns([column])} <= {instant}"
        if not literal:  # cutoff_date in SQL: the day of (instant - decision time of day)
            seconds = self.decision_time_utc.hour * 3600 + self.decision_time_utc.minute * 60
            seconds += self.decision_time_utc.second
            last_day = f"cast({instant} - interval '{seconds} seconds' as date)"
        else:
            last_day = f"date '{self.cutoff_date(known_at)}'"  # type: ignore[arg-type]
        columns = _unknown_labels_hidden(names, instant)
        return f"select {columns} from {relation} where {_columns([column])} <= {last_day}"

    def pit_join(
        self,
        entities: pd.DataFrame | pa.Table,
        features: str = "fct_features_daily",
        *,
        stored_at: datetime | date | str | None = None,
    ) -> pa.Table:
        """For each (symbol, timestamp) row, the features row with the latest decision time at or before it.

        DuckDB's ASOF LEFT JOIN: rows keep their order and count; a row before a symbol's first decision time gets
        nulls. Feature columns that clash with entity columns are suffixed `_feature`. An Arrow table
        (`.to_pandas()` for a DataFrame). The features table is read and prepared once per Delta version
        (resources/lake/point_in_time_join.py); later calls on the same version only join.
        """
        ref = self.resolve(features)
        stored = as_utc(stored_at) if stored_at is not None else None
        table = self.stored_table(ref.uri, stored)
        if table is None:  # not created yet at stored_at: its schema, no features known
            return asof_join(entities, self.read_ref(ref, None, stored), self.decision_time_utc)
        key = (self.lake.root_uri, ref.uri, table.version(), self.decision_time_utc)
        index = _INDEXES.pop(key, None) or FeatureIndex(scan(self.lake, table, ref.uri), self.decision_time_utc)
        _INDEXES[key] = index  # most recently used last
        while len(_INDEXES) > _INDEXES_KEPT:
            _INDEXES.pop(next(iter(_INDEXES))).close()
        return index.join(entities)


AS_OF_PARAMETER = "__nexus_instant"
"""The `<table>_as_of(instant)` macros' parameter: a name no table column has, so it never shadows one."""


@dataclass(frozen=True)
class SqlInstant:
    """What `nexus sql` sees in time: the shell's tables as known and/or stored at an instant, and as-of macros.

    The read-only shell cannot read files from SQL, so this works from Python: `prepare` runs on the connection
    before its configuration is locked. With `known_at` or `stored_at`, it shadows every mart with a temp view of
    the same name (rows decided by `known_at`, from the Delta version stored at `stored_at`); `read` is the loader
    the shell's lazy gold and silver tables go through. `marts.<name>` still names the current mart.

    Always, every table gets a table macro `<name>_as_of(instant)`: the table as known at that instant (same rules
    as read_table's known_at, over the version stored at `stored_at`), so one query can compare two instants:
    `select ... from silver_fred_observations_as_of('2023-01-01') a join silver_fred_observations_as_of(now()) b`.
    `tables` names the gold and silver tables (view name -> URI); their macros read `history_relation(view)`,
    which the shell registers (`history`) when a query calls the macro, and which is empty until then.
    """

    lake: TimeTravel
    known_at: datetime | None = None
    stored_at: datetime | None = None
    tables: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        parts = [
            f"as known at {self.known_at.isoformat()}" if self.known_at else "",
            f"as stored at {self.stored_at.isoformat()}" if self.stored_at else "",
        ]
        return "tables " + " and ".join(p for p in parts if p)

    def read(self, uri: str) -> pa.Table:
        return self.lake.read_ref(self.lake.ref_for_uri(uri), self.known_at, self.stored_at)

    def history(self, uri: str) -> pa.Table:
        """Every row of a table as stored at `stored_at` (the input of its as-of macro)."""
        return self.lake.read_ref(self.lake.ref_for_uri(uri), None, self.stored_at)

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        marts = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        for name in marts:
            ref = TableRef("gold", f"marts/{name}", self.lake.lake.uri("gold", "marts", name))
            relation = f"marts.{_columns([name])}"
            if self.stored_at is not None:
                if open_table(self.lake.lake, ref.uri) is None:
                    relation = f"(select * from {relation} where false)"
                else:
                    relation = _columns([f"__stored_{name}"])
                    con.register(f"__stored_{name}", self.lake.read_ref(ref, None, self.stored_at))
            schema = con.sql(f"select * from {relation} limit 0").to_arrow_table().schema
            self._macro(con, name, ref, schema, relation)
            if self.known_at is None and self.stored_at is None:
                continue
            query = (
                self.lake.known_sql(ref, schema, relation, self.known_at)
                if self.known_at is not None
                else f"select * from {relation}"
            )
            con.execute(f"create temp view {_columns([name])} as {query}")
        for view, uri in self.tables.items():
            table = open_table(self.lake.lake, uri)
            if table is None:
                continue
            schema = pa.schema(table.schema().to_arrow())
            con.register(history_relation(view), schema.empty_table())  # bound now, filled when a query calls it
            self._macro(con, view, self.lake.ref_for_uri(uri), schema, _columns([history_relation(view)]))

    def _macro(
        self, con: duckdb.DuckDBPyConnection, name: str, ref: TableRef, schema: pa.Schema, relation: str
    ) -> None:
        body = self.lake.known_sql(ref, schema, relation, AS_OF_PARAMETER)
        con.execute(f"create temp macro {_columns([f'{name}_as_of'])}({AS_OF_PARAMETER}) as table {body}")


LABEL_KNOWN_AT = "label_known_at_"
LABEL_VALUE = "fwd_return_"


def _unknown_labels_hidden(names: set[str], instant: str) -> str:
    """`*`, with each forward-return label (fct_labels_daily's fwd_return_<h>, known at label_known_at_<h>) null
    while it was not known yet: a row dated D is there from D's decision time, its labels only once their exit
    close was published."""
    horizons = sorted(
        n.removeprefix(LABEL_KNOWN_AT)
        for n in names
        if n.startswith(LABEL_KNOWN_AT) and LABEL_VALUE + n.removeprefix(LABEL_KNOWN_AT) in names
    )
    if not horizons:
        return "*"
    hidden = [
        f"case when {_columns([LABEL_KNOWN_AT + h])} <= {instant} then {_columns([column + h])} end as "
        f"{_columns([column + h])}"
        for h in horizons
        for column in (LABEL_VALUE, LABEL_KNOWN_AT)
    ]
    return f"* replace ({', '.join(hidden)})"


def _columns(names: list[str]) -> str:
    return ", ".join('"' + n.replace('"', '""') + '"' for n in names)


def read_table(
    name: str,
    known_at: datetime | date | str | None = None,
    stored_at: datetime | date | str | None = None,
    *,
    lake: TimeTravel | None = None,
) -> pa.Table:
    """A lake table as known at `known_at` and stored at `stored_at` (either or both; neither = now).

    Without `lake`, the lake the settings (NEXUS_* environment) point at (`from_env`, the analyst's edge).
    """
    return (lake or from_env()).read(name, known_at=known_at, stored_at=stored_at)


def pit_join(
    entities: pd.DataFrame | pa.Table,
    features: str = "fct_features_daily",
    *,
    stored_at: datetime | date | str | None = None,
    lake: TimeTravel | None = None,
) -> pa.Table:
    """Feast-style point-in-time join: `entities` has `symbol` and `timestamp`; see TimeTravel.pit_join."""
    return (lake or from_env()).pit_join(entities, features, stored_at=stored_at)


def from_env() -> TimeTravel:
    """The analyst's edge: the lake the NEXUS_* settings point at, read here for a quant calling `read_table` or
    `pit_join` from a notebook without a lake in hand. Project code passes a TimeTravel (`from_settings`) instead."""
    from resources.settings import get_settings

    return TimeTravel.from_settings(get_settings())


__all__ = [
    "AS_OF_PARAMETER",
    "SqlInstant",
    "TimeTravel",
    "UnknownTableError",
    "as_utc",
    "asof_join",
    "from_env",
    "pit_join",
    "read_table",
    "silver_specs",
]
