"""Every real publisher file through the shipped ingest path, one fresh lake per file: rows parsed, loaded and
quarantined, or the typed error that rejected it. Prints one line per file (`python -m tests.bench.run_all
real_files`); the figure is how many files loaded without an error."""

from __future__ import annotations

import os

from resources.errors import SourceError
from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from resources.sources.base import IngestFailedError, IngestReport
from resources.sources.registry import ingest_source
from tests.bench.common import REAL_DATA_DIR, Figure, scratch


def _land(source: str, path) -> tuple[list[IngestReport], str]:
    os.environ["NEXUS_LAKE_URI"] = str(scratch() / "lake")
    storage = LakeStorage.from_settings(get_settings())
    try:
        return ingest_source(source, storage, get_settings(), run_id="real", start=None, end=None, files=[path]), ""
    except IngestFailedError as exc:
        return [exc.report], str(exc)
    except SourceError as exc:
        return [], f"{type(exc).__name__}: {exc}"


def run() -> list[Figure]:
    if not REAL_DATA_DIR.is_dir():
        print(f"(real files not found at {REAL_DATA_DIR}: skipped)")
        return []
    clean = total = 0
    print(f"{'file':<66} {'rows':>8} {'added':>8} {'quarant.':>8}  outcome")
    for source_dir in sorted(p for p in REAL_DATA_DIR.iterdir() if p.is_dir()):
        for path in sorted(p for p in source_dir.rglob("*") if p.is_file()):
            reports, error = _land(source_dir.name, path)
            outcomes = [o for r in reports for o in r.payloads]
            rows = sum(o.rows for o in outcomes)
            added = sum(o.added for o in outcomes)
            quarantined = sum(o.quarantined for o in outcomes)
            error = error or "; ".join(o.error for o in outcomes if o.error)
            total += 1
            clean += not error
            name = str(path.relative_to(REAL_DATA_DIR))
            print(f"{name:<66} {rows:>8,} {added:>8,} {quarantined:>8,}  {error[:200] or 'loaded'}", flush=True)
    return [Figure("real publisher files loaded without an error", clean, "files", f"of {total}")]
