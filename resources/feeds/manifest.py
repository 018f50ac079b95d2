"""The client-facing contract of a delivery: the manifest a client reads first and the links file.

Kept apart from `delivery.py` (which writes them) so the delivery log can name a delivered file without importing
the delivery code that writes the log.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

MANIFEST_SCHEMA_VERSION = "1.1"


class DeliveredFile(BaseModel):
    dataset: str
    path: str = Field(description="relative to the manifest's folder")
    rows: int
    bytes: int
    sha256: str


class DeliveredSchema(BaseModel):
    dataset: str
    path: str
    sha256: str


class Manifest(BaseModel):
    """What a client reads first: everything in this version of this day, with checksums to verify it."""

    schema_version: str = MANIFEST_SCHEMA_VERSION
    client_id: str
    as_of: date
    period_start: date = Field(description="first day covered; as_of is the last")
    version: int
    generated_at: datetime = Field(description="when the lake was read for this version (UTC)")
    format: str
    content_sha256: str = Field(description="sha256 over the files' and schemas' checksums; equal content, equal hash")
    datasets: list[str]
    instruments: list[str]
    row_counts: dict[str, int]
    files: list[DeliveredFile]
    schemas: list[DeliveredSchema]
    simulated_data: bool = Field(
        default=False, description="true when the lake this came from was built from the simulated publisher"
    )
    notice: str | None = Field(default=None, description="a human-readable warning, e.g. that the data are simulated")


class DeliveryLinks(BaseModel):
    """The client's links file: presigned GET URLs of one delivered version, valid until `expires_at`."""

    client_id: str
    as_of: date
    version: int
    generated_at: datetime = Field(description="when the lake was read for this version (UTC)")
    expires_at: datetime
    expires_in_s: int
    manifest: str = Field(description="URL of manifest.json")
    files: dict[str, str] = Field(description="file path relative to the version folder -> URL")
