"""The lake as it was known at a date: every silver fact published by that date's decision time, nothing after.

Used to prove point-in-time behaviour (rebuild everything from the snapshot and compare) and by anyone who wants
to replay what the pipeline could have known on a given day (`nexus lake snapshot`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import write_deltalake

from resources.lake.as_of import lake_as_of, record_as_of
from resources.lake.catalog import list_tables
from resources.lake.delta import read_table
from resources.lake.storage import LakeStorage
from resources.reference import LAKE_AS_OF, lake_as_of_table

DATE_COLUMNS = ("observed_date", "report_date", "observation_date", "period")


def decision_time(day: date, decision_time_utc: time) -> datetime:
    """Day D's decision time (settings' NEXUS_DECISION_TIME_UTC, passed in), as a UTC instant."""
    return datetime.combine(day, decision_time_utc, tzinfo=UTC)


def snapshot_lake(source: LakeStorage, target: LakeStorage, as_of: date, decision_time_utc: time) -> dict[str, int]:
    """Copy every silver table into `target`, keeping the rows available by `as_of`'s decision time.

    Tables with `available_at` keep rows available by then (and observed no later than `as_of`); tables without
    it (reference tables, derived from configuration) are copied whole. Returns rows kept per table.
    """
    cut = pa.scalar(decision_time(as_of, decision_time_utc), pa.timestamp("us", tz="UTC"))
    kept: dict[str, int] = {}
    for info in list_tables(source):
        if info.zone != "silver":
            continue
        table = read_table(source, info.uri)
        if "available_at" in table.column_names:
            mask = pc.less_equal(table["available_at"], cut)
            for column in DATE_COLUMNS:
                if column in table.column_names:
                    mask = pc.and_(mask, pc.less_equal(table[column], pa.scalar(as_of, table[column].type)))
                    break
            table = table.filter(mask)
        write_deltalake(
            target.uri("silver", *info.name.split("/")),
            table,
            mode="overwrite",
            schema_mode="overwrite",
            storage_options=target.storage_options or None,
        )
        kept[info.name] = table.num_rows
    # the cut lake is as of that day (or the source lake's own day, if earlier): its marts stop there
    known = lake_as_of(source)
    day = as_of if known is None else min(as_of, known)
    record_as_of(target, "snapshot", day)
    write_deltalake(
        target.uri("silver", *LAKE_AS_OF.name.split("/")),
        lake_as_of_table(day),
        mode="overwrite",
        schema_mode="overwrite",
        storage_options=target.storage_options or None,
    )
    return kept
