"""Deliver one client's entitled data for one day: files, schemas, a manifest, a log row.

Layout under the client's folder (`<feeds root>/<client_id>[/<subpath>]`):

    date=<YYYY-MM-DD>/v<N>/<dataset>.<ext>                one file per entitled dataset (rows of the period)
    date=<YYYY-MM-DD>/v<N>/schemas/<dataset>.schema.json  the JSON Schema of each dataset
    date=<YYYY-MM-DD>/v<N>/manifest.json                  written last: its presence means the version is complete

A delivery dated D covers the client's period ending on D: the day for daily clients (plus the weekend before a
Monday, for instruments that trade then), the week for weekly ones, the month for monthly ones.
Re-delivering a day with the same content writes nothing and logs nothing (the content hash matches the latest
version's); a changed day becomes version N+1, and earlier versions stay as they were. Manifests and logs hold no
secret: presigned URLs (which embed a credential id and a signature) go only to the caller and to the client's
own links file, `date=<YYYY-MM-DD>/links.json` (rewritten with fresh URLs on every run that presigns).
On a local feeds root no path may go through a symbolic link (resources/feeds/paths.py).
When the lake holds simulated data, every manifest says so (`simulated_data` and a `notice`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, Field

from resources.errors import DeliveryError
from resources.feeds.cadence import period_start
from resources.feeds.clients import Client
from resources.feeds.datasets import get_dataset, json_schema, rows_for_period, schema_bytes
from resources.feeds.log import latest_delivery, log_delivery
from resources.feeds.manifest import DeliveredFile, DeliveredSchema, DeliveryLinks, Manifest
from resources.feeds.paths import check_local_path
from resources.feeds.writer import EXTENSIONS, encode
from resources.lake.provenance import is_simulated, simulated_sources
from resources.lake.storage import LakeStorage

log = logging.getLogger(__name__)
# S3 Signature Version 4 caps a presigned URL's lifetime at 7 days; below a minute a link is of no use to anyone.
PRESIGN_MIN_S = 60
PRESIGN_MAX_S = 7 * 24 * 3600
LINKS_FILE = "links.json"
SIMULATED_NOTICE = (
    "SIMULATED DATA: this delivery was built from the project's simulated publisher ({sources}); its figures are "
    "synthetic, not market data."
)


class DeliveryResult(BaseModel):
    client_id: str
    as_of: date
    status: str  # delivered | unchanged
    version: int
    manifest_uri: str
    files: int
    rows: int
    simulated_data: bool = False
    presigned_urls: dict[str, str] = Field(
        default_factory=dict, description="returned to the caller and written to the client's links file only"
    )
    links_uri: str | None = Field(default=None, description="the client's links file, when URLs were presigned")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _content_hash(
    client: Client, files: list[DeliveredFile], schemas: list[DeliveredSchema], notice: str | None = None
) -> str:
    return content_hash(client.format, client.instruments, files, schemas, notice)


def content_hash(
    fmt: str,
    instruments: list[str],
    files: list[DeliveredFile],
    schemas: list[DeliveredSchema],
    notice: str | None = None,
) -> str:
    """The manifest's content_sha256: format, instruments, notice and every file's and schema's checksum."""
    parts = [fmt, ",".join(sorted(instruments))]
    if notice:  # a lake that becomes simulated (or stops being) changes what the manifest says: a new version
        parts.append(f"notice:{notice}")
    parts += [f"{f.dataset}:{f.sha256}" for f in sorted(files, key=lambda f: f.dataset)]
    parts += [f"schema:{s.dataset}:{s.sha256}" for s in sorted(schemas, key=lambda s: s.dataset)]
    return _sha("\n".join(parts).encode())


def build_delivery(
    lake: LakeStorage, client: Client, first: date, as_of: date
) -> tuple[dict[str, bytes], list[DeliveredFile], list[DeliveredSchema]]:
    """The bytes of every file delivering [first, as_of] (relative path -> bytes), nothing written yet."""
    return build_files(lake, client.client_id, client.datasets, client.instruments, client.format, first, as_of)


def build_files(
    lake: LakeStorage,
    client_id: str,
    datasets: list[str],
    instruments: list[str],
    fmt: str,
    first: date,
    as_of: date,
    *,
    stored_at: datetime | None = None,
) -> tuple[dict[str, bytes], list[DeliveredFile], list[DeliveredSchema]]:
    """build_delivery from its parts; `stored_at` reads every dataset as the lake stored it then (a replay)."""
    blobs: dict[str, bytes] = {}
    files: list[DeliveredFile] = []
    schemas: list[DeliveredSchema] = []
    for name in sorted(set(datasets)):
        dataset = get_dataset(name)  # an unknown dataset in the clients file is refused here, loudly
        table = rows_for_period(lake, dataset, first, as_of, instruments, stored_at=stored_at)
        if table.num_columns == 0:  # the table is not published yet: deliver nothing for it, say so in the log
            log.warning("feeds: dataset %s is not published yet; skipped for %s", name, client_id)
            continue
        data = encode(table, fmt)  # type: ignore[arg-type]
        path = f"{name}{EXTENSIONS[fmt]}"
        blobs[path] = data
        files.append(DeliveredFile(dataset=name, path=path, rows=table.num_rows, bytes=len(data), sha256=_sha(data)))
        doc = schema_bytes(json_schema(dataset, table.schema))
        schema_path = f"schemas/{name}.schema.json"
        blobs[schema_path] = doc
        schemas.append(DeliveredSchema(dataset=name, path=schema_path, sha256=_sha(doc)))
    return blobs, files, schemas


def _guarded(feeds: LakeStorage, client: Client, uris: list[str]) -> None:
    """Refuse the delivery before writing anything when a path would go through a link (local roots only)."""
    if feeds.is_s3:
        return
    for uri in uris:
        check_local_path(feeds.root_uri, client.client_id, uri)


def presign_expiry(client: Client, default_s: int | None) -> int:
    """The URL lifetime: the client's own, else the configured default, else one day."""
    value = client.target.presign_expiry_s or default_s or 24 * 3600
    if not PRESIGN_MIN_S <= value <= PRESIGN_MAX_S:
        raise DeliveryError(
            f"client {client.client_id}: presigned URL lifetime {value}s is outside {PRESIGN_MIN_S}..{PRESIGN_MAX_S}s "
            "(S3 SigV4 allows at most 7 days)"
        )
    return value


def deliver(
    lake: LakeStorage,
    feeds: LakeStorage,
    client: Client,
    as_of: date,
    *,
    run_id: str,
    presign: bool | None = None,
    presign_expiry_s: int | None = None,
) -> DeliveryResult:
    """Deliver `client`'s entitled datasets and instruments for `as_of` (idempotent).

    With presigning (the client's `target.presign`, or `presign=True`), fresh URLs are returned and written to
    the client's links file; `presign_expiry_s` is the default lifetime for clients that set none.
    """
    if presign is None:  # the clients file's choice; a local feeds root (development) has nothing to presign
        want_urls = client.target.presign and feeds.is_s3
        if client.target.presign and not feeds.is_s3:
            log.info("feeds: %s wants presigned links, but the feeds root is local: none made", client.client_id)
    else:
        want_urls = presign
    if want_urls and not feeds.is_s3:
        raise DeliveryError(f"client {client.client_id}: presigned URLs need an s3:// feeds root")
    expiry = presign_expiry(client, presign_expiry_s) if want_urls else 0  # checked before anything is written
    folder = client.folder(feeds.root_uri)
    first = period_start(client.cadence, as_of)
    read_at = datetime.now(UTC)  # the manifest's generated_at: `nexus feeds reproduce` reads the lake as of then
    blobs, files, schemas = build_delivery(lake, client, first, as_of)
    if not any(f.rows for f in files):
        raise DeliveryError(
            f"client {client.client_id}: nothing to deliver as of {as_of} (no rows of {', '.join(client.datasets)} "
            "for its instruments in the lake on that day; build the day first with nexus run)"
        )
    simulated = is_simulated(lake)
    notice = SIMULATED_NOTICE.format(sources=", ".join(simulated_sources(lake))) if simulated else None
    content = _content_hash(client, files, schemas, notice)
    date_folder = posixpath.join(folder, f"date={as_of.isoformat()}")
    links_uri = posixpath.join(date_folder, LINKS_FILE)
    previous = latest_delivery(lake, client.client_id, as_of)
    if previous is not None and previous["content_sha256"] == content:
        version = int(previous["version"])
        manifest_uri = previous["manifest_uri"]
        status = "unchanged"
        _guarded(feeds, client, [links_uri] if want_urls else [])
    else:
        version = 1 if previous is None else int(previous["version"]) + 1
        day_folder = posixpath.join(date_folder, f"v{version}")
        manifest_uri = posixpath.join(day_folder, "manifest.json")
        targets = {posixpath.join(day_folder, relative): data for relative, data in blobs.items()}
        _guarded(feeds, client, [*targets, manifest_uri, *([links_uri] if want_urls else [])])
        for uri, data in targets.items():
            feeds.write_bytes(uri, data)
        manifest = Manifest(
            client_id=client.client_id,
            as_of=as_of,
            period_start=first,
            version=version,
            generated_at=read_at,
            format=client.format,
            content_sha256=content,
            datasets=sorted({f.dataset for f in files}),
            instruments=sorted(client.instruments),
            row_counts={f.dataset: f.rows for f in files},
            files=files,
            schemas=schemas,
            simulated_data=simulated,
            notice=notice,
        )
        feeds.write_bytes(manifest_uri, (manifest.model_dump_json(indent=2) + "\n").encode())
        log_delivery(
            lake,
            client=client,
            as_of=as_of,
            version=version,
            content_sha256=content,
            files=files,
            manifest_uri=manifest_uri,
            run_id=run_id,
        )
        status = "delivered"
    result = DeliveryResult(
        client_id=client.client_id,
        as_of=as_of,
        status=status,
        version=version,
        manifest_uri=manifest_uri,
        files=len(files),
        rows=sum(f.rows for f in files),
        simulated_data=simulated,
    )
    if want_urls:
        urls = presigned_urls(feeds, posixpath.dirname(manifest_uri), [*files, *schemas], client, expiry)
        write_links(feeds, links_uri, client, as_of, version, urls, expiry)
        result.presigned_urls = urls
        result.links_uri = links_uri
    return result


def write_links(
    feeds: LakeStorage, uri: str, client: Client, as_of: date, version: int, urls: dict[str, str], expiry_s: int
) -> DeliveryLinks:
    """Write the client's links file (the channel a scheduled run hands URLs over by; never the lake)."""
    now = datetime.now(UTC)
    links = DeliveryLinks(
        client_id=client.client_id,
        as_of=as_of,
        version=version,
        generated_at=now,
        expires_at=now + timedelta(seconds=expiry_s),
        expires_in_s=expiry_s,
        manifest=urls["manifest.json"],
        files={name: url for name, url in urls.items() if name != "manifest.json"},
    )
    feeds.write_bytes(uri, (links.model_dump_json(indent=2) + "\n").encode())
    return links


def presigned_urls(
    feeds: LakeStorage,
    day_folder: str,
    files: list[DeliveredFile | DeliveredSchema],
    client: Client,
    expiry_s: int,
) -> dict[str, str]:
    """Time-limited GET URLs for the manifest and every file and schema (S3 feeds only)."""
    if not feeds.is_s3:
        raise DeliveryError(f"client {client.client_id}: presigned URLs need an s3:// feeds root")
    import boto3

    options = feeds.storage_options
    session = boto3.session.Session(
        aws_access_key_id=options.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=options.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=options.get("AWS_SESSION_TOKEN"),
        region_name=options.get("AWS_REGION"),
    )
    s3 = session.client("s3", endpoint_url=options.get("AWS_ENDPOINT_URL"))
    bucket, _, prefix = day_folder[len("s3://") :].partition("/")
    names = ["manifest.json", *[f.path for f in files]]
    return {
        name: s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": bucket, "Key": posixpath.join(prefix, name)},
            ExpiresIn=expiry_s,
        )
        for name in names
    }


def read_manifest(feeds: LakeStorage, manifest_uri: str) -> Manifest:
    return Manifest.model_validate(json.loads(feeds.read_bytes(manifest_uri)))


def verify_delivery(feeds: LakeStorage, manifest_uri: str) -> list[str]:
    """Problems found when checking every file against the manifest (empty when the delivery is intact)."""
    manifest = read_manifest(feeds, manifest_uri)
    folder = posixpath.dirname(manifest_uri)
    problems = []
    for item in [*manifest.files, *manifest.schemas]:
        data = feeds.read_bytes(posixpath.join(folder, item.path))
        if _sha(data) != item.sha256:
            problems.append(f"{item.path}: checksum mismatch")
    return problems
