"""Any lake table as it was known, or as it was stored, at an instant; and point-in-time joins for quants.

Two clocks, never mixed up:
- knowledge time (`known_at`): what the world had published by T. A silver table keeps, per natural key (its
  spec's `keys`), the latest version whose `available_at` is at or before T; a mart or gold table keeps the rows
  whose decision time (`decision_at`, else its date column at NEXUS_DECISION_TIME_UTC) is at or before T.
- storage time (`stored_at`): what the lake held at T, the Delta version current then (audits, feed replays).
  Delta keeps old versions only until a vacuum removes their files, so this reaches back as far as the retention.

Everything reads through resources.lake.delta (one reader for the whole project).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import duckdb
import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable

from resources.lake.delta import open_table, scan
from resources.lake.storage import ZONES, LakeStorage, Zone
from resources.lake.tables import TableSpec

SPEC_MODULES = tuple(f"resources.sources.{name}.spec" for name in ("cboe", "coinmetrics", "cot", "eia", "fred"))
# A mart or gold table's "when" column when it has no decision_at; first match wins.
DECISION_DATE_COLUMNS = ("decision_date", "trade_date", "signal_date", "date", "as_of")


class UnknownTableError(LookupError):
    """No Delta table by that name in the lake."""


def _as_utc(instant: datetime | date | str) -> datetime:
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
        ref = self.resolve(name)
        stored = _as_utc(stored_at) if stored_at is not None else None
        table = self.stored_table(ref.uri, stored)
        if table is None:
            return pa.table({})
        data = scan(self.lake, table, ref.uri)
        if known_at is None:
            return data
        return self.known(ref, data, _as_utc(known_at))

    def known(self, ref: TableRef, data: pa.Table, known_at: datetime) -> pa.Table:
        """Filter rows already read to what was known at `known_at`."""
        sql = self.known_sql(ref, data.schema, "data", known_at)
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            con.register("data", data)
            return con.sql(sql).to_arrow_table().cast(data.schema)

    def known_sql(self, ref: TableRef, schema: pa.Schema, relation: str, known_at: datetime) -> str:
        """A DuckDB query over `relation` (a table with `schema`) keeping what was known at `known_at`."""
        names = set(schema.names)
        instant = f"timestamptz '{known_at.isoformat()}'"
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
        return f"select * from {relation} where {_columns([column])} <= date '{self.cutoff_date(known_at)}'"

    def pit_join(
        self,
        entities: pd.DataFrame | pa.Table,
        features: str = "fct_features_daily",
        *,
        stored_at: datetime | date | str | None = None,
    ) -> pd.DataFrame:
        """For each (symbol, timestamp) row, the features row with the latest decision time at or before it.

        DuckDB's ASOF LEFT JOIN: rows keep their order and count; a row before a symbol's first decision time gets
        nulls. Feature columns that clash with entity columns are suffixed `_feature`.
        """
        data = self.read(features, stored_at=stored_at)
        return asof_join(entities, data, self.decision_time_utc)


def asof_join(entities: pd.DataFrame | pa.Table, features: pa.Table, decision_time_utc: time) -> pd.DataFrame:
    """The join itself, over features already read (what pit_join and its benchmark time)."""
    names = features.schema.names
    if isinstance(entities, pd.DataFrame):
        entities = pa.Table.from_pandas(entities, preserve_index=False)
    entities = entities.append_column("__row", pa.array(range(entities.num_rows), pa.int64()))
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.register("entities_in", entities)
        con.register("features_in", features)
        entity_columns = entities.schema.names
        if "decision_at" in names:
            when = "decision_at"
        else:
            when = f"(trade_date + time '{decision_time_utc.isoformat()}')::timestamp at time zone 'UTC'"
        feature_columns = [c for c in names if c != "symbol"]
        selected = ", ".join(
            f"f.{_columns([c])}" + (f' as "{c}_feature"' if c in entity_columns else "") for c in feature_columns
        )
        return con.sql(
            f"""
            with e as (
                select *, timestamp::timestamptz as __at from entities_in
            ),
            f as (select *, {when} as __known from features_in)
            select e.* exclude (__row, __at), {selected}
            from e asof left join f on e.symbol = f.symbol and e.__at >= f.__known
            order by e.__row
            """
        ).df()


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

    Without `lake`, the lake the settings (NEXUS_* environment) point at.
    """
    return (lake or _default()).read(name, known_at=known_at, stored_at=stored_at)


def pit_join(
    entities: pd.DataFrame | pa.Table,
    features: str = "fct_features_daily",
    *,
    stored_at: datetime | date | str | None = None,
    lake: TimeTravel | None = None,
) -> pd.DataFrame:
    """Feast-style point-in-time join: `entities` has `symbol` and `timestamp`; see TimeTravel.pit_join."""
    return (lake or _default()).pit_join(entities, features, stored_at=stored_at)


def _default() -> TimeTravel:
    from resources.settings import get_settings

    return TimeTravel.from_settings(get_settings())


__all__ = ["TimeTravel", "UnknownTableError", "asof_join", "pit_join", "read_table", "silver_specs"]
