"""SQL over the published marts for analysts: one query, or an interactive shell.

Reads the published, read-only DuckDB file (`NEXUS_PUBLISHED_DUCKDB_PATH`), which the pipeline replaces
atomically: a query running while `nexus run` writes sees the previous complete version and never blocks it.
The other gold tables (signals, persona outputs, the audit trail, model evaluation, the delivery log) are views
over their Delta tables' current versions, named after their path (`signals_daily`, `audit_recommendations`).
`show tables` and `show all tables` list them beside the marts, from their Delta logs, without reading their data.

Read-only means more than a read-only database file: DuckDB's external access is switched off (no COPY TO,
EXPORT DATABASE, read_csv/read_text/glob of any file, ATTACH, INSTALL or LOAD) and the configuration is locked
(no SET), so an analyst can neither write nor read anything the shell does not expose.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa

from resources.lake.delta import open_table, read_table
from resources.lake.storage import LakeStorage

OutputFormat = Literal["table", "csv", "json"]


class NoMartsError(FileNotFoundError):
    """The published marts file does not exist yet (run `make run` or `nexus run` first)."""

    @staticmethod
    def message(path: Path) -> str:
        return f"no published marts at {path}: run `make run` (or `nexus run`) first"


class ReadOnlyError(PermissionError):
    """A statement tried to write, read a file, or change the configuration of the read-only analyst shell."""


READ_ONLY_HINT = (
    "nexus sql is read-only: it cannot write, read files, attach databases, install or load extensions, or change "
    "settings; query the marts and gold tables by name (.tables lists them)"
)


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]


def connect(
    path: Path, prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None
) -> duckdb.DuckDBPyConnection:
    """The published marts, read-only (tables in schema `marts`, also reachable without the prefix).

    `prepare` runs before the configuration is locked: the place to register views from Python (for example the
    point-in-time views of `nexus sql --as-of`, resources.lake.time_travel.SqlInstant).
    """
    if not path.exists():
        raise NoMartsError(NoMartsError.message(path))
    # An in-memory instance of its own with the file attached read-only: DuckDB shares one instance per opened
    # file within a process, so a second shell on the same file would find the first one's configuration locked.
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")  # before external access goes: it loads the icu extension
    catalog = _columns_quoted(path.stem)
    con.execute(f"attach '{str(path).replace(chr(39), chr(39) * 2)}' as {catalog} (read_only)")
    con.execute(f"use {catalog}")
    with contextlib.suppress(duckdb.Error):  # analysts write fct_prices_daily; marts.fct_prices_daily works too
        con.execute("set search_path = 'marts,main'")
    if prepare is not None:
        prepare(con)
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return con


def _columns_quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def history_relation(view: str) -> str:
    """The relation a gold or silver table's `<view>_as_of(instant)` macro reads: every row of the table as stored
    (all versions), registered when a statement calls the macro."""
    return f"__history_{view}"


def gold_view_name(relative: str) -> str:
    """`signals/daily` -> `signals_daily`, `audit/recommendations` -> `audit_recommendations`."""
    return re.sub(r"[^a-z0-9_]", "_", relative.lower())


def lake_views(lake: LakeStorage) -> tuple[dict[str, str], dict[str, str]]:
    """The shell's names of the lake's gold tables other than the marts, and of its silver tables, with their URIs."""
    gold = {
        gold_view_name(lake.relative_name(uri, "gold")): uri
        for uri in lake.list_delta_tables("gold")
        if not lake.relative_name(uri, "gold").startswith("marts/")
    }
    silver = {
        "silver_" + gold_view_name(lake.relative_name(uri, "silver")): uri for uri in lake.list_delta_tables("silver")
    }
    return gold, silver


class GoldTables:
    """The gold Delta tables that are not marts (signals, persona outputs, audit trail, models, delivery log).

    A query names them by path (`signals_daily`, `audit_recommendations`, `personas_hedge_fund`); each table a
    statement references is read once, at its current Delta version, and registered in the connection, so a
    query never sees a half-written table and unused tables cost nothing.
    """

    def __init__(
        self,
        lake: LakeStorage,
        read: Callable[[str], pa.Table] | None = None,
        *,
        silver: bool = False,
        history: Callable[[str], pa.Table] | None = None,
        views: tuple[dict[str, str], dict[str, str]] | None = None,
    ) -> None:
        """`read` loads a table by URI (default: its current version); `silver` adds the silver tables, named
        `silver_<path>` (`silver_fred_observations`), as `nexus sql --as-of` does. `history` loads every row of a
        gold or silver table for its `<name>_as_of(instant)` macro (resources.lake.time_travel.SqlInstant).
        `views`: lake_views(lake), when the caller has listed them already."""
        self.lake = lake
        gold, silver_tables = views if views is not None else lake_views(lake)
        self.uris = {**gold, **silver_tables} if silver else gold
        self.history_uris = {**gold, **silver_tables}  # every table with an as-of macro besides the marts
        self.read = read or (lambda uri: read_table(lake, uri))
        self.history = history
        self.attached: set[str] = set()
        self.history_attached: set[str] = set()

    def names(self) -> list[str]:
        return sorted(self.uris)

    def attach(self, con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
        """Register the gold tables `sql` references (by name) that are not registered yet."""
        try:
            referenced = {name.rsplit(".", 1)[-1].lower() for name in con.get_table_names(sql)}
        except duckdb.Error:  # unparsable: let the query itself report the error
            return []
        new = sorted((referenced & self.uris.keys()) - self.attached)
        for name in new:
            con.register(name, self.read(self.uris[name]))
            self.attached.add(name)
        if self.history is not None:
            called = {m.lower() for m in AS_OF_CALL.findall(sql)} & self.history_uris.keys()
            for name in sorted(called - self.history_attached):
                con.register(history_relation(name), self.history(self.history_uris[name]))
                self.history_attached.add(name)
                new.append(f"{name}_as_of")
        return new

    def columns(self, con: duckdb.DuckDBPyConnection, name: str) -> tuple[list[str], list[str]]:
        """A gold table's column names and DuckDB types, from its Delta schema (no data file is read)."""
        table = open_table(self.lake, self.uris[name])
        schema = pa.schema(table.schema().to_arrow()) if table is not None else pa.schema([])
        probe = "__nexus_gold_schema"
        con.register(probe, schema.empty_table())
        try:
            described = con.execute(f"describe {probe}").fetchall()
        finally:
            con.unregister(probe)
        return [row[0] for row in described], [row[1] for row in described]


AS_OF_CALL = re.compile(r"\b([A-Za-z0-9_]+)_as_of\"?\s*\(")
"""A call of a table's as-of macro in a statement: `silver_fred_observations_as_of(...)`."""

SHOW_TABLES = re.compile(r"^\s*show\s+(all\s+)?tables\s*;?\s*$", re.IGNORECASE)


def show_tables(con: duckdb.DuckDBPyConnection, sql: str, gold: GoldTables) -> QueryResult | None:
    """`show tables` / `show all tables` with the gold tables added (None for any other statement)."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error:
        return None
    match = SHOW_TABLES.match(statements[0].query) if len(statements) == 1 else None
    if match is None:
        return None
    cursor = con.execute(sql)
    columns = [d[0] for d in cursor.description]
    # the shell's own relations (`__history_<table>` behind the as-of macros, `__stored_<mart>`) are not listed
    rows = [row for row in cursor.fetchall() if not str(row[columns.index("name")]).startswith("__")]
    listed = {row[columns.index("name")] for row in rows}
    extra = [name for name in gold.names() if name not in listed]
    if match.group(1):  # show all tables: database, schema, name, column_names, column_types, temporary
        for name in extra:
            names, types = gold.columns(con, name)
            rows.append(("gold", "main", name, names, types, False))
    else:
        rows = sorted([*rows, *[(name,) for name in extra]])
    return QueryResult(columns, rows)


QUERY_STATEMENTS = frozenset({"SELECT", "EXPLAIN", "PRAGMA", "CALL"})
"""Statement kinds the shell runs (show/describe/summarize parse as SELECT); everything else is refused up front."""


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse anything but a query before DuckDB runs it (its own lock on file access and settings stays beneath)."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error:  # unparsable: let the query itself report the error
        return
    for statement in statements:
        kind = statement.type.name
        if kind not in QUERY_STATEMENTS:
            raise ReadOnlyError(f"{READ_ONLY_HINT} ({kind.lower()} statements are refused)")


def run_query(con: duckdb.DuckDBPyConnection, sql: str, gold: GoldTables | None = None) -> QueryResult:
    """Run one statement; a write, a file access or a SET raises ReadOnlyError with one clear line."""
    check_read_only(con, sql)
    if gold is not None:
        listing = show_tables(con, sql, gold)
        if listing is not None:
            return listing
        gold.attach(con, sql)
    try:
        cursor = con.execute(sql)
    except (duckdb.PermissionException, duckdb.InvalidInputException) as exc:
        if _refused(exc):
            raise ReadOnlyError(f"{READ_ONLY_HINT} ({_first_line(exc)})") from None
        raise
    if cursor.description is None:
        return QueryResult([], [])
    return QueryResult([d[0] for d in cursor.description], cursor.fetchall())


def _refused(exc: duckdb.Error) -> bool:
    text = str(exc)
    return isinstance(exc, duckdb.PermissionException) or any(
        marker in text for marker in ("configuration has been locked", "attached in read-only mode")
    )


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def render(result: QueryResult, fmt: OutputFormat, *, max_rows: int | None = None) -> str:
    rows = result.rows if max_rows is None else result.rows[:max_rows]
    if fmt == "json":
        return json.dumps([{c: _plain(v) for c, v in zip(result.columns, r, strict=True)} for r in rows], indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([[_plain(v) for v in r] for r in rows])
        return out.getvalue()
    from tabulate import tabulate

    text = tabulate([[_plain(v) for v in r] for r in rows], headers=result.columns, tablefmt="simple", floatfmt=".6g")
    if max_rows is not None and len(result.rows) > max_rows:
        text += f"\n... {len(result.rows) - max_rows} more rows (use --format csv to get them all)"
    return text + f"\n({len(result.rows)} rows)"


SHELL_HELP = """Enter SQL ending with ';'. Commands: .tables  .schema <table>  .format table|csv|json  .quit
Marts live in schema `marts` (e.g. select * from fct_vol_term_structure_daily limit 5;); the other gold tables
are named by path: signals_daily, personas_<persona>, audit_recommendations, models_evaluation, feeds_delivery_log
(show tables; lists them all). Any table as known at an instant: <table>_as_of('2024-01-05 22:00'), also
silver_<path>_as_of(...) for silver tables (silver_fred_observations_as_of)."""


def shell(
    con: duckdb.DuckDBPyConnection,
    read: Callable[[str], str],
    write: Callable[[str], None],
    gold: GoldTables | None = None,
) -> None:
    """A small REPL: statements end with ';', dot-commands for discovery. `read` raises EOFError to stop."""
    fmt: OutputFormat = "table"
    buffer: list[str] = []
    write(SHELL_HELP)
    while True:
        try:
            line = read("nexus> " if not buffer else "   ...> ")
        except (EOFError, KeyboardInterrupt):
            write("")
            return
        stripped = line.strip()
        if not buffer and stripped.startswith("."):
            command, _, arg = stripped.partition(" ")
            if command in (".quit", ".exit"):
                return
            if command == ".tables":
                sql = (  # not the shell's own temp relations (point-in-time views, as-of macro inputs)
                    "select table_schema || '.' || table_name as name from information_schema.tables "
                    "where table_catalog <> 'temp' order by 1"
                )
                marts = [r[0] for r in run_query(con, sql).rows]
                others = [f"gold: {name}" for name in (gold.names() if gold else [])]
                write(render(QueryResult(["name"], [[n] for n in [*marts, *others]]), "table"))
            elif command == ".schema" and arg:
                if gold is not None and arg.lower() in gold.uris and arg.lower() not in gold.attached:
                    names, types = gold.columns(con, arg.lower())  # from the Delta log: no data read
                    write(render(QueryResult(["column", "type"], list(zip(names, types, strict=True))), "table"))
                    continue
                schema, _, table = arg.rpartition(".")
                sql = (
                    "select column_name, data_type from information_schema.columns where table_name = ? "
                    + ("and table_schema = ? " if schema else "")
                    + "order by ordinal_position"
                )
                params = [table, schema] if schema else [table]
                cursor = con.execute(sql, params)
                write(render(QueryResult(["column", "type"], cursor.fetchall()), "table"))
            elif command == ".format" and arg in ("table", "csv", "json"):
                fmt = arg  # type: ignore[assignment]
            else:
                write(SHELL_HELP)
            continue
        buffer.append(line)
        if stripped.endswith(";"):
            sql = "\n".join(buffer)
            buffer = []
            try:
                write(render(run_query(con, sql, gold), fmt, max_rows=200 if fmt == "table" else None))
            except (duckdb.Error, ReadOnlyError) as exc:
                write(f"error: {exc}")
