"""Bronze: every raw payload byte for byte, content-addressed, with one manifest row per distinct payload.

Objects live at bronze/<source>/<dataset>/<sha256><ext>; the same bytes twice for one dataset land at the same
place and the manifest gains nothing. The manifest is keyed by (sha256, source, dataset), not by the hash alone:
parsers read meaning from the dataset (a Coin Metrics file named for its asset, a FRED file for its series), so
the same bytes under another dataset are another payload, kept as its own object and manifest row, or a rebuild
from bronze would lose its rows. The manifest stores that path relative to the lake root, so a copied or
moved lake (another folder, bucket or prefix) still finds its objects; `object_location` also reads rows written
with absolute URIs by older versions. The object is written before its manifest row, so a crash between the
two leaves an orphan object that the next run simply re-registers.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from resources.lake.delta import insert_new, read_table
from resources.lake.storage import LakeStorage
from resources.lake.tables import UTC_TS, TableSpec
from resources.redact import redact_url

MANIFEST = TableSpec(
    zone="bronze",
    name="_manifest",
    schema=pa.schema(
        [
            pa.field("sha256", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("dataset", pa.string(), nullable=False),
            pa.field("location", pa.string(), nullable=False),
            pa.field("file_name", pa.string(), nullable=False),
            pa.field("media_type", pa.string()),
            pa.field("bytes", pa.int64(), nullable=False),
            pa.field("as_of", UTC_TS),
            pa.field("fetched_at", UTC_TS, nullable=False),
            pa.field("run_id", pa.string(), nullable=False),
            pa.field("object_uri", pa.string(), nullable=False),
        ]
    ),
    keys=("sha256", "source", "dataset"),
    date_column=None,
    description="One row per distinct raw payload kept in bronze: its bytes and the dataset they were read as.",
)


@dataclass(frozen=True)
class RawPayload:
    """One payload as received from a publisher (or read from a publisher file)."""

    source: str
    dataset: str
    location: str  # URL (redacted) or file path
    data: bytes
    fetched_at: datetime
    media_type: str | None = None
    as_of: datetime | None = None  # the publisher state this payload reflects, when known (simulated, files)

    @property
    def knowledge_time(self) -> datetime:
        """When the payload's content was public: its as-of time if known, else when it was fetched."""
        return self.as_of or self.fetched_at

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def file_name(self) -> str:
        name = self.location.rstrip("/").split("/")[-1].split("?")[0]
        return name or f"{self.dataset}.bin"


@dataclass(frozen=True)
class BronzeRecord:
    sha256: str
    object_uri: str
    is_new: bool
    payload: RawPayload


def stored_location(location: str) -> str:
    """The location kept in the manifest and quarantine: the URL or path as fetched, credentials redacted."""
    return redact_url(location)


def _extension(payload: RawPayload) -> str:
    name = payload.file_name.lower()
    for ext in (".csv", ".txt", ".json", ".xml", ".zip", ".html"):
        if name.endswith(ext):
            return ext
    media = (payload.media_type or "").lower()
    if "json" in media:
        return ".json"
    if "xml" in media:
        return ".xml"
    if "csv" in media:
        return ".csv"
    return ".bin"


def object_uri_for(storage: LakeStorage, payload: RawPayload) -> str:
    return storage.uri("bronze", payload.source, payload.dataset, payload.sha256 + _extension(payload))


def relative_object_path(storage: LakeStorage, uri: str) -> str:
    """`<root>/bronze/...` -> `bronze/...`, as the manifest stores it."""
    root = storage.root_uri.rstrip("/") + "/"
    return uri[len(root) :] if uri.startswith(root) else uri


def object_location(storage: LakeStorage, stored: str) -> str:
    """The URI to read a manifest row's object from, in this lake (relative rows, or old absolute ones)."""
    if "://" not in stored and not stored.startswith("/"):
        return posixpath.join(storage.root_uri, stored)
    if storage.exists(stored):
        return stored
    at = stored.rfind("/bronze/")  # an absolute URI from before the lake moved: same place under this root
    return posixpath.join(storage.root_uri, stored[at + 1 :]) if at >= 0 else stored


def put_payloads(storage: LakeStorage, payloads: list[RawPayload], run_id: str) -> list[BronzeRecord]:
    """Store payloads and register them in the manifest; bytes repeated for one dataset are recognised, not stored
    twice (the same bytes for another dataset are another payload)."""
    if not payloads:
        return []
    stored = read_table(storage, MANIFEST, columns=["sha256", "source", "dataset"])
    known = set(zip(*(stored.column(c).to_pylist() for c in ("sha256", "source", "dataset")), strict=True))
    records: list[BronzeRecord] = []
    rows: list[dict[str, object]] = []
    seen: set[tuple[str, str, str]] = set()
    for payload in payloads:
        sha = payload.sha256
        key = (sha, payload.source, payload.dataset)
        uri = object_uri_for(storage, payload)
        is_new = key not in known and key not in seen
        if is_new:
            if not storage.exists(uri):
                storage.write_bytes(uri, payload.data)
            rows.append(
                {
                    "sha256": sha,
                    "source": payload.source,
                    "dataset": payload.dataset,
                    "location": stored_location(payload.location),
                    "file_name": payload.file_name,
                    "media_type": payload.media_type,
                    "bytes": len(payload.data),
                    "as_of": None if payload.as_of is None else payload.as_of.astimezone(UTC),
                    "fetched_at": payload.fetched_at.astimezone(UTC),
                    "run_id": run_id,
                    "object_uri": relative_object_path(storage, uri),
                }
            )
        seen.add(key)
        records.append(BronzeRecord(sha, uri, is_new, payload))
    if rows:
        insert_new(storage, MANIFEST, pa.Table.from_pylist(rows, schema=MANIFEST.schema))
    return records


def read_payload(storage: LakeStorage, sha256: str) -> bytes:
    """The stored bytes of one payload, checked against their hash."""
    manifest = read_table(storage, MANIFEST, filters=[("sha256", "=", sha256)])
    if manifest.num_rows == 0:
        raise KeyError(f"no bronze payload with sha256 {sha256}")
    data = storage.read_bytes(object_location(storage, manifest.column("object_uri")[0].as_py()))
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"bronze object for {sha256} does not match its hash")
    return data


def manifest_for(storage: LakeStorage, source: str | None = None) -> pa.Table:
    data = read_table(storage, MANIFEST)
    if source is not None and data.num_rows:
        data = data.filter(pc.equal(data["source"], source))
    return data
