"""The delivery log: one row per delivered version (append-only Delta table in the lake's gold zone)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from resources.lake.delta import insert_new, read_table
from resources.lake.storage import LakeStorage
from resources.lake.tables import UTC_TS, TableSpec

if TYPE_CHECKING:
    from resources.feeds.clients import Client
    from resources.feeds.manifest import DeliveredFile

DELIVERY_LOG = TableSpec(
    zone="gold",
    name="feeds/delivery_log",
    schema=pa.schema(
        [
            pa.field("client_id", pa.string(), nullable=False),
            pa.field("as_of", pa.date32(), nullable=False),
            pa.field("version", pa.int32(), nullable=False),
            pa.field("content_sha256", pa.string(), nullable=False),
            pa.field("format", pa.string(), nullable=False),
            pa.field("datasets", pa.string(), nullable=False),
            pa.field("instruments", pa.string(), nullable=False),
            pa.field("files", pa.int32(), nullable=False),
            pa.field("rows", pa.int64(), nullable=False),
            pa.field("manifest_uri", pa.string(), nullable=False),
            pa.field("delivered_at", UTC_TS, nullable=False),
            pa.field("run_id", pa.string(), nullable=False),
        ]
    ),
    keys=("client_id", "as_of", "version"),
    date_column="as_of",
    description="Every client delivery: what, when, which version, checksums, where (no credentials).",
)


def latest_delivery(lake: LakeStorage, client_id: str, as_of: date) -> dict[str, Any] | None:
    table = read_table(lake, DELIVERY_LOG, filters=[("client_id", "=", client_id), ("as_of", "=", as_of)])
    if table.num_rows == 0:
        return None
    rows = sorted(table.to_pylist(), key=lambda r: r["version"])
    return rows[-1]


def log_delivery(
    lake: LakeStorage,
    *,
    client: Client,
    as_of: date,
    version: int,
    content_sha256: str,
    files: list[DeliveredFile],
    manifest_uri: str,
    run_id: str,
) -> None:
    row = {
        "client_id": client.client_id,
        "as_of": as_of,
        "version": version,
        "content_sha256": content_sha256,
        "format": client.format,
        "datasets": ",".join(sorted({f.dataset for f in files})),
        "instruments": ",".join(sorted(client.instruments)),
        "files": len(files),
        "rows": sum(f.rows for f in files),
        "manifest_uri": manifest_uri,
        "delivered_at": datetime.now(UTC),
        "run_id": run_id,
    }
    insert_new(lake, DELIVERY_LOG, pa.Table.from_pylist([row], schema=DELIVERY_LOG.schema))
