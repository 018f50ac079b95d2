"""Files mode: publisher files read from disk exactly as downloaded, as bronze payloads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from resources.lake.bronze import RawPayload


def find_files(roots: Iterable[Path], patterns: tuple[str, ...]) -> list[Path]:
    """Files under `roots` (files or folders, searched recursively) whose names match any pattern."""
    found: set[Path] = set()
    for root in roots:
        root = Path(root)
        if root.is_file():
            found.add(root.resolve())
            continue
        for pattern in patterns:
            found.update(p.resolve() for p in root.rglob(pattern) if p.is_file())
    return sorted(found)


def payload_from_file(path: Path, *, source: str, dataset: str, media_type: str | None = None) -> RawPayload:
    return RawPayload(
        source=source,
        dataset=dataset,
        location=str(path),
        data=path.read_bytes(),
        fetched_at=datetime.now(UTC),
        media_type=media_type,
    )
