"""Versioned model artifacts in the lake: gold/models/<name>/<version>/{model.txt, calibrator.json, metadata.json}.

A version is named by the training cutoff and a content hash (sha256 over the model text, the calibrator parameters
and the metadata without timestamps), so the same inputs and seed always land on the same version, saving it again
is a no-op, and versions list in cutoff order. `metadata.json` is written last: a version without it is incomplete
and is neither listed nor loaded. The store knows nothing about LightGBM: the model is its text, the calibrator a
JSON-able dict (`assets.models.lgbm.TrainedModel` converts to and from an artifact).
"""

from __future__ import annotations

import hashlib
import json
import platform
import posixpath
from datetime import UTC, date, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any

import pyarrow.fs as pafs
from pydantic import BaseModel, ConfigDict, Field

from resources.lake.storage import LakeStorage

MODEL_FILE = "model.txt"
CALIBRATOR_FILE = "calibrator.json"
METADATA_FILE = "metadata.json"
# excluded from the content hash: when it was saved, and the hash itself
VOLATILE_FIELDS = frozenset({"created_at", "content_hash"})
HASH_PREFIX = 12


class ModelMetadata(BaseModel):
    """Everything needed to know what a stored model is, how it was trained and how well it did."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,120}$")
    kind: str = Field(default="lgbm_direction", description="what the model text holds")
    horizon: int
    mode: str = Field(description="pooled or per_symbol")
    symbol: str | None = Field(default=None, description="the symbol of a per-symbol model")
    cutoff: date = Field(description="training cutoff: every training label ended on or before it")
    train_start: date
    train_end: date = Field(description="last trade_date among training rows")
    n_train: int
    n_calibration: int = 0
    best_iteration: int = 0
    features: list[str]
    categorical_features: list[str] = Field(default_factory=list)
    classes: list[int]
    config: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict, description="deterministic held-out figures only")
    library_versions: dict[str, str] = Field(default_factory=dict)
    content_hash: str = ""
    created_at: datetime | None = None


class ModelArtifact(BaseModel):
    """What the store keeps for one version."""

    model_config = ConfigDict(extra="forbid")

    model_text: str
    calibrator: dict[str, Any]
    metadata: ModelMetadata

    @property
    def version(self) -> str:
        return version_name(self.metadata.cutoff, self.metadata.content_hash or content_hash(self))


def library_versions(packages: tuple[str, ...] = ("lightgbm", "numpy", "pandas", "scikit-learn", "scipy")) -> dict:
    """Versions that can change a trained model's bytes; part of the metadata (and so of the hash)."""
    return dict(_installed_versions(packages))


@cache
def _installed_versions(packages: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Read once per process: parsing the installed packages' metadata cost ~50 ms per model (78 per run)."""
    found = {"python": platform.python_version()}
    for name in packages:
        try:
            found[name] = package_version(name)
        except PackageNotFoundError:
            found[name] = "missing"
    return tuple(found.items())


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces: the same value always serializes to the same bytes (floats round-trip exactly)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True, default=str)


def content_hash(artifact: ModelArtifact) -> str:
    """sha256 over the model text, the calibrator parameters and the metadata without timestamps."""
    meta = artifact.metadata.model_dump(mode="json", exclude=set(VOLATILE_FIELDS))
    digest = hashlib.sha256()
    for part in (artifact.model_text, canonical_json(artifact.calibrator), canonical_json(meta)):
        encoded = part.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return digest.hexdigest()


def version_name(cutoff: date, digest: str) -> str:
    """`<cutoff yyyymmdd>-<first 12 hex of the hash>`: sorts by cutoff, unique by content."""
    return f"{cutoff:%Y%m%d}-{digest[:HASH_PREFIX]}"


def with_hash(artifact: ModelArtifact) -> ModelArtifact:
    """The artifact with `metadata.content_hash` filled in (recomputed, never trusted)."""
    digest = content_hash(artifact)
    return artifact.model_copy(update={"metadata": artifact.metadata.model_copy(update={"content_hash": digest})})


class ModelStore:
    """Versioned model artifacts under gold/models/ of a lake (local folder or S3, through `LakeStorage`)."""

    def __init__(self, storage: LakeStorage, prefix: str = "models") -> None:
        self.storage = storage
        self.prefix = prefix

    def _uri(self, *parts: str) -> str:
        return self.storage.uri("gold", self.prefix, *parts)

    def save(self, artifact: ModelArtifact) -> str:
        """Store an artifact and return its version; a version already stored with the same hash is left alone."""
        artifact = with_hash(artifact)
        meta = artifact.metadata
        name_version = version_name(meta.cutoff, meta.content_hash)
        meta_uri = self._uri(meta.name, name_version, METADATA_FILE)
        if self.storage.exists(meta_uri):
            stored = ModelMetadata.model_validate_json(self.storage.read_bytes(meta_uri))
            if stored.content_hash != meta.content_hash:  # a 48-bit prefix collision: refuse to overwrite
                raise ValueError(f"version {meta.name}/{name_version} exists with a different content hash")
            return name_version
        if meta.created_at is None:
            meta = meta.model_copy(update={"created_at": datetime.now(UTC)})
        self.storage.write_bytes(self._uri(meta.name, name_version, MODEL_FILE), artifact.model_text.encode("utf-8"))
        self.storage.write_bytes(
            self._uri(meta.name, name_version, CALIBRATOR_FILE), canonical_json(artifact.calibrator).encode("utf-8")
        )
        self.storage.write_bytes(meta_uri, meta.model_dump_json(indent=2).encode("utf-8"))
        return name_version

    def load(self, name: str, version: str) -> ModelArtifact:
        """Read a version back and check its content hash (a corrupted or edited artifact raises)."""
        meta_uri = self._uri(name, version, METADATA_FILE)
        if not self.storage.exists(meta_uri):
            raise FileNotFoundError(f"model {name}/{version} not found (no {METADATA_FILE})")
        meta = ModelMetadata.model_validate_json(self.storage.read_bytes(meta_uri))
        artifact = ModelArtifact(
            model_text=self.storage.read_bytes(self._uri(name, version, MODEL_FILE)).decode("utf-8"),
            calibrator=json.loads(self.storage.read_bytes(self._uri(name, version, CALIBRATOR_FILE))),
            metadata=meta,
        )
        digest = content_hash(artifact)
        if digest != meta.content_hash:
            raise ValueError(f"model {name}/{version}: content hash mismatch ({digest[:12]} != stored)")
        return artifact

    def list_versions(self, name: str) -> list[str]:
        """Complete versions of a model (those with metadata), oldest cutoff first."""
        base = self.storage.fs_path(self._uri(name))
        fs = self.storage.filesystem
        if fs.get_file_info(base).type == pafs.FileType.NotFound:
            return []
        selector = pafs.FileSelector(base, recursive=False, allow_not_found=True)
        versions = [
            info.base_name
            for info in fs.get_file_info(selector)
            if info.type == pafs.FileType.Directory
            and fs.get_file_info(posixpath.join(info.path, METADATA_FILE)).type == pafs.FileType.File
        ]
        return sorted(versions)

    def latest_version(self, name: str, as_of: date | None = None) -> str | None:
        """The newest version, or the newest whose cutoff is on or before `as_of` (for point-in-time scoring)."""
        versions = self.list_versions(name)
        if as_of is not None:
            versions = [v for v in versions if v[:8] <= f"{as_of:%Y%m%d}"]
        return versions[-1] if versions else None


__all__ = [
    "ModelArtifact",
    "ModelMetadata",
    "ModelStore",
    "canonical_json",
    "content_hash",
    "library_versions",
    "version_name",
    "with_hash",
]
