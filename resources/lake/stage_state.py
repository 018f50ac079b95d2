"""Skip a stage whose inputs have not changed: nothing recomputed, no new Delta version written.

A stage's fingerprint is the Delta versions of the tables it reads, a hash of its code (the source files of its
packages) and its configuration. After a successful write the stage records the fingerprint and the versions its
own tables reached (`gold/_stages/<stage>.json`, a plain object, not a Delta table). On the next run the stage is
skipped only if the fingerprint is the same and every output table is still at the version recorded: a table
rewritten or removed by someone else since is rebuilt, so a skip never hides a lake that no longer matches.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from resources.lake.delta import open_table
from resources.lake.storage import LakeStorage

SKIPPED = "skipped: inputs unchanged"


class StageFingerprint(BaseModel):
    """What a stage's result depends on."""

    stage: str
    inputs: dict[str, int | None] = Field(description="Delta version of each table read (None: absent)")
    code: str = Field(description="sha256 of the stage's source files")
    config: str = Field(description="sha256 of the stage's configuration (canonical JSON)")

    def digest(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


class StageRecord(BaseModel):
    """What the last successful run of a stage left behind."""

    fingerprint: str
    outputs: dict[str, int | None] = Field(description="Delta version of each table written, after the write")
    summary: dict[str, Any] = Field(default_factory=dict, description="metadata the stage shows again on a skip")


def table_versions(storage: LakeStorage, uris: list[str]) -> dict[str, int | None]:
    """Current Delta version of each table, keyed by its path under the lake root."""
    versions: dict[str, int | None] = {}
    for uri in uris:
        table = open_table(storage, uri)
        versions[uri.removeprefix(storage.root_uri).lstrip("/")] = None if table is None else table.version()
    return versions


def code_hash(*modules: str) -> str:
    """sha256 over the source files of the given modules (a package: every .py file under it, in order)."""
    digest = hashlib.sha256()
    for name in sorted(modules):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(name)
        origin = Path(spec.origin)
        files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
        for path in files:
            digest.update(str(path.relative_to(origin.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def config_hash(config: Any) -> str:
    """sha256 of a configuration: a pydantic model or plain JSON-able data (dates and paths as text)."""
    data = config.model_dump(mode="json") if isinstance(config, BaseModel) else config
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _record_uri(storage: LakeStorage, stage: str) -> str:
    return storage.uri("gold", "_stages", f"{stage.replace('/', '__')}.json")


def read_record(storage: LakeStorage, stage: str) -> StageRecord | None:
    uri = _record_uri(storage, stage)
    if not storage.exists(uri):
        return None
    try:
        return StageRecord.model_validate_json(storage.read_bytes(uri))
    except ValueError:  # an unreadable record only costs a rebuild
        return None


def unchanged(storage: LakeStorage, fingerprint: StageFingerprint, outputs: list[str]) -> StageRecord | None:
    """The last record, if the stage can be skipped: same fingerprint and outputs still as it left them."""
    record = read_record(storage, fingerprint.stage)
    if record is None or record.fingerprint != fingerprint.digest():
        return None
    current = table_versions(storage, outputs)
    if any(v is None for v in current.values()) or current != record.outputs:
        return None
    return record


def record_run(
    storage: LakeStorage,
    fingerprint: StageFingerprint,
    outputs: list[str],
    summary: dict[str, Any] | None = None,
) -> StageRecord:
    """Remember what the stage was built from and the versions its outputs reached (call after the writes)."""
    record = StageRecord(
        fingerprint=fingerprint.digest(), outputs=table_versions(storage, outputs), summary=summary or {}
    )
    storage.write_bytes(_record_uri(storage, fingerprint.stage), record.model_dump_json(indent=1).encode())
    return record
