"""Reproduce a past delivery from the lake as it was stored when the delivery was made, and check it.

A delivery's manifest says what was sent (datasets, instruments, format, period, checksums) and when the lake was
read (`generated_at`). Reading every dataset at the Delta version current then (time travel) and encoding it the
same way must give the same bytes, whatever arrived or was restated since: the check an auditor or a client
disputing a file asks for. It works as far back as Delta keeps old versions (`nexus maintain` vacuums only files
older than its retention).
"""

from __future__ import annotations

import hashlib
import posixpath
from datetime import date, datetime

from pydantic import BaseModel

from resources.errors import DeliveryError
from resources.feeds.delivery import build_files, content_hash, read_manifest
from resources.feeds.log import DELIVERY_LOG
from resources.lake.delta import read_table
from resources.lake.storage import LakeStorage


class ReproducedFile(BaseModel):
    path: str
    expected_sha256: str
    reproduced_sha256: str | None  # None: the lake as stored then does not give this file at all

    @property
    def identical(self) -> bool:
        return self.expected_sha256 == self.reproduced_sha256


class Reproduction(BaseModel):
    """A rebuilt delivery compared with its manifest, file by file."""

    client_id: str
    as_of: date
    version: int
    manifest_uri: str
    stored_at: datetime
    files: list[ReproducedFile]
    unexpected: list[str]  # files the rebuild gives that the manifest does not list
    content_sha256_matches: bool

    @property
    def identical(self) -> bool:
        return all(f.identical for f in self.files) and not self.unexpected and self.content_sha256_matches


def _sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def delivered_versions(lake: LakeStorage, client_id: str, as_of: date) -> list[dict]:
    """The delivery log's rows of one client and day, oldest version first."""
    log = read_table(lake, DELIVERY_LOG, filters=[("client_id", "=", client_id), ("as_of", "=", as_of)])
    return sorted(log.to_pylist(), key=lambda row: row["version"])


def reproduce_delivery(
    lake: LakeStorage, feeds: LakeStorage, client_id: str, as_of: date, *, version: int | None = None
) -> tuple[Reproduction, dict[str, bytes]]:
    """Rebuild version `version` (default: the latest) of `client_id`'s delivery for `as_of` and compare it with
    its manifest. Returns the comparison and the rebuilt bytes (relative path -> bytes)."""
    rows = delivered_versions(lake, client_id, as_of)
    if version is not None:
        rows = [row for row in rows if row["version"] == version]
    if not rows:
        which = f"version {version} of " if version is not None else ""
        raise DeliveryError(f"client {client_id}: no {which}delivery as of {as_of} in the delivery log")
    row = rows[-1]
    manifest = read_manifest(feeds, row["manifest_uri"])
    blobs, files, schemas = build_files(
        lake,
        client_id,
        manifest.datasets,
        manifest.instruments,
        manifest.format,
        manifest.period_start,
        manifest.as_of,
        stored_at=manifest.generated_at,
    )
    expected = {item.path: item.sha256 for item in [*manifest.files, *manifest.schemas]}
    compared = [
        ReproducedFile(path=path, expected_sha256=sha, reproduced_sha256=_sha256(blobs.get(path)))
        for path, sha in sorted(expected.items())
    ]
    rebuilt_hash = content_hash(manifest.format, manifest.instruments, files, schemas, manifest.notice)
    result = Reproduction(
        client_id=client_id,
        as_of=as_of,
        version=manifest.version,
        manifest_uri=row["manifest_uri"],
        stored_at=manifest.generated_at,
        files=compared,
        unexpected=sorted(set(blobs) - set(expected)),
        content_sha256_matches=rebuilt_hash == manifest.content_sha256,
    )
    return result, blobs


def write_reproduction(folder: LakeStorage, blobs: dict[str, bytes]) -> list[str]:
    """Write the rebuilt files under `folder` (for a side-by-side look); returns their URIs."""
    uris = []
    for relative, data in sorted(blobs.items()):
        uri = posixpath.join(folder.root_uri, relative)
        folder.write_bytes(uri, data)
        uris.append(uri)
    return uris
