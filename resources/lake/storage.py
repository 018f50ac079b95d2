"""Where the lake lives. Everything is addressed by URI, so a local folder and s3://bucket/prefix run the same code.

Delta tables go through delta-rs with `storage_options`; raw objects (bronze payloads, exports) go through a
pyarrow filesystem built from the same settings.
"""

from __future__ import annotations

import posixpath
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal
from urllib.parse import urlparse

import pyarrow.fs as pafs

from resources.settings import Settings

Zone = Literal["bronze", "silver", "gold", "quarantine"]
ZONES: tuple[Zone, ...] = ("bronze", "silver", "gold", "quarantine")


@dataclass(frozen=True)
class LakeStorage:
    """A lake root plus the credentials to reach it. `storage_options` holds secrets: never log it."""

    root_uri: str
    storage_options: dict[str, str] = field(default_factory=dict, repr=False, hash=False, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> LakeStorage:
        return cls(root_uri=settings.lake_uri, storage_options=settings.storage_options())

    @property
    def is_s3(self) -> bool:
        return self.root_uri.startswith("s3://")

    def uri(self, zone: Zone, *parts: str) -> str:
        """URI of a table or object under a zone, e.g. uri('silver', 'cboe', 'index_closes')."""
        for part in parts:
            if not part or part.startswith("/") or ".." in part.split("/"):
                raise ValueError(f"invalid lake path part {part!r}")
        return posixpath.join(self.root_uri, zone, *parts)

    # -- raw objects -------------------------------------------------------------------------------------
    @cached_property
    def filesystem(self) -> pafs.FileSystem:
        if not self.is_s3:
            return pafs.LocalFileSystem()
        opts = self.storage_options
        endpoint = opts.get("AWS_ENDPOINT_URL")
        kwargs: dict[str, object] = {}
        if endpoint:
            parsed = urlparse(endpoint)
            kwargs["endpoint_override"] = parsed.netloc or parsed.path
            kwargs["scheme"] = parsed.scheme or "https"
        if opts.get("AWS_REGION"):
            kwargs["region"] = opts["AWS_REGION"]
        if opts.get("AWS_ACCESS_KEY_ID"):
            kwargs["access_key"] = opts["AWS_ACCESS_KEY_ID"]
            kwargs["secret_key"] = opts.get("AWS_SECRET_ACCESS_KEY", "")
            if opts.get("AWS_SESSION_TOKEN"):
                kwargs["session_token"] = opts["AWS_SESSION_TOKEN"]
        return pafs.S3FileSystem(**kwargs)

    def fs_path(self, uri: str) -> str:
        """Path for the pyarrow filesystem: 'bucket/key' for S3, the absolute path for local."""
        return uri[len("s3://") :] if uri.startswith("s3://") else uri

    def exists(self, uri: str) -> bool:
        info = self.filesystem.get_file_info(self.fs_path(uri))
        return info.type != pafs.FileType.NotFound

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Write an object atomically: readers see the old object or the whole new one, never a partial one."""
        path = self.fs_path(uri)
        fs = self.filesystem
        parent = posixpath.dirname(path)
        if not self.is_s3:
            fs.create_dir(parent, recursive=True)
            tmp = posixpath.join(parent, f".{posixpath.basename(path)}.{uuid.uuid4().hex}.tmp")
            with fs.open_output_stream(tmp) as out:
                out.write(data)
            fs.move(tmp, path)
        else:
            with fs.open_output_stream(path) as out:  # a single S3 PUT is atomic
                out.write(data)

    def read_bytes(self, uri: str) -> bytes:
        with self.filesystem.open_input_stream(self.fs_path(uri)) as stream:
            return stream.read()

    def is_delta_table(self, uri: str) -> bool:
        return self.exists(posixpath.join(uri, "_delta_log"))

    def list_delta_tables(self, zone: Zone) -> list[str]:
        """URIs of every Delta table under a zone (a folder holding `_delta_log`)."""
        base = self.uri(zone)
        fs = self.filesystem
        base_path = self.fs_path(base)
        if fs.get_file_info(base_path).type == pafs.FileType.NotFound:
            return []
        found: list[str] = []
        selector = pafs.FileSelector(base_path, recursive=True, allow_not_found=True)
        for info in fs.get_file_info(selector):
            if info.type == pafs.FileType.Directory and info.base_name == "_delta_log":
                table_path = posixpath.dirname(info.path)
                found.append(("s3://" + table_path) if self.is_s3 else table_path)
        return sorted(found)

    def relative_name(self, uri: str, zone: Zone) -> str:
        return posixpath.relpath(uri, self.uri(zone)) if not self.is_s3 else uri.split(f"/{zone}/", 1)[-1]
