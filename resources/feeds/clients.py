"""Who receives what: the clients file's contract, validated so that no client can reach another's data.

A client's files always land under `<feeds root>/<client_id>/`, optionally in a sub-folder the client chose; ids
and sub-folders are validated (no traversal, no absolute paths, no other client's folder), so a typo or a hostile
entry in the clients file is refused before anything is written.
"""

from __future__ import annotations

import posixpath
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from resources.errors import ConfigError, DeliveryError

CLIENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

FeedFormat = Literal["parquet", "csv", "jsonl"]
Cadence = Literal["daily", "weekly", "monthly"]


def validate_client_id(client_id: str) -> str:
    """A client id is a lowercase slug: it names a folder, so nothing else is allowed."""
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        raise DeliveryError(
            f"invalid client id {client_id!r}: use 3-64 lowercase letters, digits and dashes (no paths, no dots)"
        )
    return client_id


def validate_subpath(subpath: str) -> str:
    """A relative sub-folder under the client's own folder: plain segments only, no traversal, no absolute path."""
    if subpath in ("", "."):
        return ""
    if subpath.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", subpath) or "://" in subpath:
        raise DeliveryError(f"delivery path {subpath!r} must be relative to the client's folder")
    parts = subpath.replace("\\", "/").split("/")
    for part in parts:
        if part in ("", ".", "..") or not _SEGMENT.match(part):
            raise DeliveryError(f"delivery path {subpath!r} has an invalid segment {part!r} (no '..', no empty parts)")
    return "/".join(parts)


class DeliveryTarget(BaseModel):
    """Where a client's files go: a sub-folder of the client's own folder under the feeds root (local or S3)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subpath: str = Field(default="", description="optional sub-folder under <feeds root>/<client_id>/")
    presign: bool = Field(default=False, description="hand out presigned URLs (S3 feeds root only)")
    presign_expiry_s: int | None = Field(
        default=None,
        ge=60,
        le=7 * 24 * 3600,
        description="URL lifetime in seconds (S3 SigV4 allows at most 7 days); default NEXUS_FEEDS_PRESIGN_EXPIRY_S",
    )

    @field_validator("subpath")
    @classmethod
    def _subpath(cls, value: str) -> str:
        try:
            return validate_subpath(value)
        except DeliveryError as exc:
            raise ValueError(str(exc)) from None


class Client(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str
    name: str
    datasets: list[str] = Field(min_length=1)
    instruments: list[str] = Field(default_factory=list, description="entitled symbols; empty means none")
    format: FeedFormat = "parquet"
    target: DeliveryTarget = Field(default_factory=DeliveryTarget)
    cadence: Cadence = "daily"

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, value: str) -> str:
        try:
            return validate_client_id(value)
        except DeliveryError as exc:
            raise ValueError(str(exc)) from None

    def folder(self, root: str) -> str:
        """The client's delivery folder under `root` (a local path or s3 URI); never outside `root`."""
        folder = (
            posixpath.join(root, self.client_id, self.target.subpath)
            if self.target.subpath
            else (posixpath.join(root, self.client_id))
        )
        normal = posixpath.normpath(folder) if not root.startswith("s3://") else folder
        own = posixpath.join(root, self.client_id)
        if not (normal == own or normal.startswith(own + "/")):
            raise DeliveryError(f"client {self.client_id}: target {folder!r} escapes its folder {own!r}")
        return normal


class ClientsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    clients: list[Client]

    @model_validator(mode="after")
    def _unique(self) -> ClientsFile:
        ids = [c.client_id for c in self.clients]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate client ids: {dupes}")
        return self

    def client(self, client_id: str) -> Client:
        validate_client_id(client_id)
        for c in self.clients:
            if c.client_id == client_id:
                return c
        raise DeliveryError(f"unknown client {client_id!r}")


def load_clients(path: Path) -> ClientsFile:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"clients file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"clients file {path} is not valid YAML: {exc}") from None
    try:
        return ClientsFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ConfigError(f"clients file {path} is invalid: {problems}") from None


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> ClientsFile:
    return load_clients(Path(path))


def get_clients(path: Path) -> ClientsFile:
    """The clients in `path` (the settings' `clients_file`, passed in), re-read when the file changes."""
    return _cached(str(path), path.stat().st_mtime if path.exists() else 0.0)
