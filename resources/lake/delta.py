"""Idempotent Delta writes through delta-rs.

Three write patterns cover the lake:
- `insert_new`: insert rows whose key is absent (bronze manifest, quarantine, audit trail, delivery log);
- `merge_versioned`: bitemporal silver; a changed value for an existing key becomes a new version, never an
  update, so history as it was known is kept;
- `replace_where`: gold tables, which overwrite exactly the slice (partition predicate) they recompute;
  `replace_values` overwrites an explicit set of partition values (days) and nothing between them.
Each is safe to repeat: the same input twice leaves the table's content unchanged.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError

from resources.errors import CommitConflictError
from resources.lake.storage import LakeStorage
from resources.lake.tables import TableSpec, conform


@dataclass(frozen=True)
class MergeStats:
    """What one write did to one table."""

    table: str
    offered: int
    added: int
    revised: int = 0
    unchanged: int = 0

    @property
    def written(self) -> int:
        return self.added + self.revised


def table_uri(storage: LakeStorage, spec: TableSpec) -> str:
    return storage.uri(spec.zone, *spec.path_parts())


def open_table(storage: LakeStorage, spec_or_uri: TableSpec | str) -> DeltaTable | None:
    uri = spec_or_uri if isinstance(spec_or_uri, str) else table_uri(storage, spec_or_uri)
    try:
        return DeltaTable(uri, storage_options=storage.storage_options or None)
    except TableNotFoundError:
        return None


def ensure_table(storage: LakeStorage, spec: TableSpec) -> DeltaTable:
    """Open the table, creating it empty with the contract's schema on first use."""
    table = open_table(storage, spec)
    if table is not None:
        return table
    return DeltaTable.create(
        table_uri(storage, spec),
        schema=spec.schema,
        mode="ignore",
        partition_by=list(spec.partition_by) or None,
        name=spec.name.replace("/", "__"),
        description=spec.description or None,
        storage_options=storage.storage_options or None,
    )


def scan(
    storage: LakeStorage,
    table: DeltaTable,
    uri: str,
    *,
    columns: list[str] | None = None,
    filters: list[tuple[str, str, object]] | None = None,
) -> pa.Table:
    """Read a Delta table through a native pyarrow filesystem, typed as the table's Delta schema.

    Two delta-rs/pyarrow quirks are handled here, so every reader in the project goes through this function:
    - delta-rs's default Python filesystem handler lets pyarrow's I/O threads call back into Python while the
      interpreter exits, which aborts the process now and then ("terminate called without an active
      exception"); a native filesystem rooted at the table avoids it;
    - files written by delta-rs merges store strings as string_view, which pyarrow filters cannot compare with
      plain strings; rows are read, cast to the Delta schema, then filtered.
    """
    filesystem = pafs.SubTreeFileSystem(storage.fs_path(uri.rstrip("/")), storage.filesystem)
    schema = pa.schema(table.schema().to_arrow())
    wanted = list(columns) if columns is not None else schema.names
    needed = wanted + [f[0] for f in filters or [] if f[0] not in wanted]
    data = table.to_pyarrow_dataset(filesystem=filesystem).to_table(columns=needed)
    data = data.cast(pa.schema([schema.field(name) for name in needed]))
    if filters:
        mask = None
        for column, op, value in filters:
            test = _COMPARE[op](data[column], pa.scalar(value, data[column].type))
            mask = test if mask is None else pc.and_(mask, test)
        data = data.filter(mask)
    return data.select(wanted)


_COMPARE = {
    "=": pc.equal,
    "==": pc.equal,
    "!=": pc.not_equal,
    "<": pc.less,
    "<=": pc.less_equal,
    ">": pc.greater,
    ">=": pc.greater_equal,
}


def read_table(
    storage: LakeStorage,
    spec_or_uri: TableSpec | str,
    *,
    columns: list[str] | None = None,
    filters: list[tuple[str, str, object]] | None = None,
) -> pa.Table:
    """The table's current rows (empty with the right schema if it does not exist yet)."""
    uri = spec_or_uri if isinstance(spec_or_uri, str) else table_uri(storage, spec_or_uri)
    table = open_table(storage, uri)
    if table is None:
        if isinstance(spec_or_uri, TableSpec):
            schema = spec_or_uri.schema
            return schema.empty_table() if columns is None else schema.empty_table().select(columns)
        return pa.table({})
    return scan(storage, table, uri, columns=columns, filters=filters)


def _key_predicate(keys: tuple[str, ...] | list[str]) -> str:
    return " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)


def _check_unique(data: pa.Table, keys: tuple[str, ...] | list[str], table: str) -> None:
    if data.num_rows == 0:
        return
    counts = data.group_by(list(keys)).aggregate([([], "count_all")])
    if counts.num_rows != data.num_rows:
        raise ValueError(f"{table}: {data.num_rows - counts.num_rows} duplicate keys offered on {list(keys)}")


COMMIT_ATTEMPTS = 6
_T = TypeVar("_T")


def with_commit_retries(write: Callable[[], _T], *, table: str, attempts: int = COMMIT_ATTEMPTS) -> _T:
    """Run `write` (which must re-read the table itself) again when another writer wins the Delta commit race.

    Backs off with jitter between attempts; after the last one, raises `CommitConflictError` naming the table.
    """
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except CommitFailedError as exc:
            if attempt == attempts:
                raise CommitConflictError(
                    f"{table}: another writer kept winning the Delta commit race ({attempts} attempts): {exc}"
                ) from None
            time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
    raise AssertionError("unreachable")


def insert_new(storage: LakeStorage, spec: TableSpec, rows: pa.Table) -> MergeStats:
    """Insert rows whose key is not in the table yet; existing keys are left exactly as they are.

    A lost commit race is retried (the merge re-reads the table, so keys the other writer added are skipped).
    """
    rows = conform(rows, spec)
    _check_unique(rows, spec.keys, spec.name)
    if rows.num_rows == 0:
        ensure_table(storage, spec)
        return MergeStats(spec.name, 0, 0)

    def write() -> MergeStats:
        table = ensure_table(storage, spec)
        metrics = (
            table.merge(source=rows, predicate=_key_predicate(spec.keys), source_alias="s", target_alias="t")
            .when_not_matched_insert_all()
            .execute()
        )
        added = int(metrics.get("num_target_rows_inserted", 0))
        return MergeStats(spec.name, rows.num_rows, added, unchanged=rows.num_rows - added)

    return with_commit_retries(write, table=spec.name)


def _latest_versions(existing: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if existing.empty:
        return existing
    idx = existing.groupby(keys, sort=False, dropna=False)["version"].idxmax()
    return existing.loc[idx]


def _values_differ(left: pd.Series, right: pd.Series) -> pd.Series:
    both_null = left.isna() & right.isna()
    equal = (left == right).fillna(False).astype(bool)
    return ~(equal | both_null)


def merge_versioned(
    storage: LakeStorage,
    spec: TableSpec,
    rows: pa.Table,
    *,
    revision_available_at: datetime,
    first_seen_window: timedelta | None = None,
) -> MergeStats:
    """Bitemporal merge: new keys get version 1, changed values a new version; equal values add nothing.

    `rows` carries the spec's columns except `version` and `is_revision`, which are computed here. A revised
    value cannot have been known before the payload that carried it was fetched, so a revision's
    `available_at` is at least `revision_available_at` (the fetch time). With `first_seen_window` (live
    fetches, see resources/sources/late_release.py), a new key whose calendar `available_at` lies within the
    window before its `ingested_at` is floored to `ingested_at` and marked `available_at_derived`.
    """
    if not spec.versioned:
        raise ValueError(f"{spec.name} is not a versioned table")
    rows = conform(rows, spec, without=("version", "is_revision"))
    _check_unique(rows, list(spec.keys), spec.name)
    table = ensure_table(storage, spec)
    if rows.num_rows == 0:
        return MergeStats(spec.name, 0, 0)
    filters = None
    if spec.date_column and spec.date_column in rows.column_names:
        lo, hi = pc.min(rows[spec.date_column]).as_py(), pc.max(rows[spec.date_column]).as_py()
        filters = [(spec.date_column, ">=", lo), (spec.date_column, "<=", hi)]
    existing = scan(
        storage, table, table_uri(storage, spec), columns=[*spec.keys, *spec.value_columns, "version"], filters=filters
    ).to_pandas()
    out, stats = plan_versioned(
        spec, rows, existing, revision_available_at=revision_available_at, first_seen_window=first_seen_window
    )
    commit_versions(storage, spec, out)
    return stats


def plan_versioned(
    spec: TableSpec,
    rows: pa.Table,
    existing: pd.DataFrame,
    *,
    revision_available_at: datetime,
    first_seen_window: timedelta | None = None,
) -> tuple[pa.Table, MergeStats]:
    """The rows a bitemporal merge of `rows` would insert, given `existing` (keys, values and version)."""
    keys = list(spec.keys)
    values = list(spec.value_columns)
    rows = conform(rows, spec, without=("version", "is_revision"))
    _check_unique(rows, keys, spec.name)
    incoming = rows.to_pandas()
    latest = _latest_versions(existing[[*keys, *values, "version"]], keys) if not existing.empty else existing

    if latest.empty:
        merged = incoming.assign(version=pd.NA)
    else:
        merged = incoming.merge(latest, on=keys, how="left", suffixes=("", "__old"), validate="one_to_one")
    is_new = merged["version"].isna()
    changed = pd.Series(False, index=merged.index)
    if not latest.empty:
        for col in values:
            changed |= _values_differ(merged[col], merged[f"{col}__old"])
    revised = (~is_new) & changed

    new_rows = merged.loc[is_new].copy()
    new_rows["version"] = 1
    new_rows["is_revision"] = False
    if first_seen_window is not None and not new_rows.empty:
        seen = new_rows["ingested_at"]
        late = (new_rows["available_at"] < seen) & (new_rows["available_at"] >= seen - first_seen_window)
        new_rows.loc[late, "available_at"] = seen[late]
        new_rows.loc[late, "available_at_derived"] = True
    rev_rows = merged.loc[revised].copy()
    if not rev_rows.empty:
        rev_rows["version"] = rev_rows["version"].astype("int64") + 1
        rev_rows["is_revision"] = True
        floor = pd.Timestamp(revision_available_at).tz_convert("UTC")
        rev_rows["available_at"] = rev_rows["available_at"].where(rev_rows["available_at"] >= floor, floor)
    out = pd.concat([new_rows, rev_rows], ignore_index=True)
    stats = MergeStats(spec.name, rows.num_rows, int(is_new.sum()), int(revised.sum()), rows.num_rows - len(out))
    if out.empty:
        return spec.schema.empty_table(), stats
    out["version"] = out["version"].astype("int32")
    return conform(pa.Table.from_pandas(out[spec.schema.names], preserve_index=False), spec), stats


def commit_versions(
    storage: LakeStorage,
    spec: TableSpec,
    rows: pa.Table,
    *,
    metadata: dict[str, str] | None = None,
    read_version: int | None = None,
) -> None:
    """Insert planned versions in one Delta commit (keys plus version never collide, so a repeat adds nothing).

    `read_version` is the table version the rows were planned against: the merge runs on that snapshot, so a
    commit another writer made since then is a conflict (`CommitFailedError`), never a silent skip of our rows.
    """
    if rows.num_rows == 0:
        return
    table = ensure_table(storage, spec)
    if read_version is not None and read_version != table.version():
        table = DeltaTable(
            table_uri(storage, spec), version=read_version, storage_options=storage.storage_options or None
        )
    (
        table.merge(
            source=conform(rows, spec),
            predicate=_key_predicate([*spec.keys, "version"]),
            source_alias="s",
            target_alias="t",
            commit_properties=CommitProperties(custom_metadata=metadata) if metadata else None,
        )
        .when_not_matched_insert_all()
        .execute()
    )


def replace_where(
    storage: LakeStorage,
    spec: TableSpec,
    rows: pa.Table,
    *,
    column: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> MergeStats:
    """Overwrite exactly the rows with `column` in [start, end] (or the whole table) with `rows`."""
    rows = conform(rows, spec)
    _check_unique(rows, spec.keys, spec.name)
    uri = table_uri(storage, spec)
    predicate = None
    if column is not None and start is not None and end is not None:
        if rows.num_rows:
            lo, hi = pc.min(rows[column]).as_py(), pc.max(rows[column]).as_py()
            if lo < start or hi > end:
                raise ValueError(f"{spec.name}: rows outside [{start}, {end}] offered to replace_where")
        predicate = f"`{column}` >= '{start.isoformat()}' AND `{column}` <= '{end.isoformat()}'"
        ensure_table(storage, spec)
    write_deltalake(
        uri,
        rows,
        mode="overwrite",
        predicate=predicate,
        partition_by=list(spec.partition_by) or None,
        storage_options=storage.storage_options or None,
    )
    return MergeStats(spec.name, rows.num_rows, rows.num_rows)


def replace_values(
    storage: LakeStorage, spec: TableSpec, rows: pa.Table, *, column: str, values: list[date]
) -> MergeStats:
    """Overwrite exactly the rows whose `column` is one of `values` with `rows`; every other row stays as it is.

    A range predicate from the first to the last changed day would also delete the unchanged days between them
    (for example crypto weekend days between two changed NYSE days), so the predicate lists the days one by one.
    """
    rows = conform(rows, spec)
    _check_unique(rows, spec.keys, spec.name)
    if not values:
        return MergeStats(spec.name, rows.num_rows, 0, unchanged=rows.num_rows)
    wanted = sorted(set(values))
    if rows.num_rows:
        offered = pc.unique(rows[column]).to_pylist()
        outside = sorted(set(offered) - set(wanted))
        if outside:
            raise ValueError(f"{spec.name}: rows for {outside[:3]} offered to replace_values outside {wanted[:3]}...")
    ensure_table(storage, spec)
    listed = ", ".join(f"'{value.isoformat()}'" for value in wanted)
    write_deltalake(
        table_uri(storage, spec),
        rows,
        mode="overwrite",
        predicate=f"`{column}` IN ({listed})",
        partition_by=list(spec.partition_by) or None,
        storage_options=storage.storage_options or None,
    )
    return MergeStats(spec.name, rows.num_rows, rows.num_rows)


def replace_if_changed(storage: LakeStorage, spec: TableSpec, rows: pa.Table) -> bool:
    """Replace the whole table unless it already holds exactly these rows. A no-op then commits no new Delta
    version, so whoever watches versions (the marts' change detection) sees nothing changed. True if written."""
    rows = conform(rows, spec)
    current = read_table(storage, spec)
    same_shape = current.num_rows == rows.num_rows and current.schema.names == rows.schema.names
    if same_shape and content_hash(current.cast(rows.schema)) == content_hash(rows):
        return False
    replace_where(storage, spec, rows)
    return True


def content_hash(data: pa.Table, *, exclude: tuple[str, ...] = ()) -> str:
    """Order-independent sha256 of a table's rows, for idempotency and determinism checks."""
    cols = sorted(c for c in data.column_names if c not in exclude)
    data = data.select(cols)
    if data.num_rows:
        keys = data
        for c in cols:  # Arrow cannot sort nested columns: order them by their text form instead
            if pa.types.is_nested(data.schema.field(c).type):
                text = pa.array([json.dumps(v, sort_keys=True, default=str) for v in data[c].to_pylist()])
                keys = keys.set_column(keys.column_names.index(c), c, text)
        order = pc.sort_indices(keys, sort_keys=[(c, "ascending") for c in cols])
        data = data.take(order)
    digest = hashlib.sha256()
    for batch in data.to_batches(max_chunksize=65536):
        for col in batch.columns:
            digest.update(str(col.to_pylist()).encode())
    digest.update(str(data.schema).encode())
    return digest.hexdigest()


def overwrite_table(storage: LakeStorage, uri: str, data: pa.Table) -> MergeStats:
    """Replace a whole derived table (recomputed in full each run), schema included."""
    write_deltalake(
        uri, data, mode="overwrite", schema_mode="overwrite", storage_options=storage.storage_options or None
    )
    return MergeStats(uri.rsplit("/", 1)[-1], data.num_rows, data.num_rows)
