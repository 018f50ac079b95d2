"""sha256 of every COT file the simulated publisher serves, to prove a refactor of resources/simulated/cot changes
no byte: the annual zip of every report (futures-only and combined) for every published year, and the workbook,
history and site-export variants, for seeds 7 and 11, as of 2024-12-31.

    python -m tests.tools.cot_file_hashes before.json   # change the code, then
    python -m tests.tools.cot_file_hashes after.json && cmp before.json after.json

About a minute of CPU (273 files).
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import date
from pathlib import Path

from resources.simulated.cot import (
    annual_workbook_zip,
    annual_zip,
    file_layout,
    history_text,
    published_years,
    site_export_csv,
)

AS_OF = date(2024, 12, 31)
SEEDS = (7, 11)
REPORTS = ("legacy", "tff", "disaggregated")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cot_file_hashes(seeds: tuple[int, ...] = SEEDS, as_of: date = AS_OF) -> dict[str, str]:
    hashes = {f"layout/{report}": _sha(repr(file_layout(report)).encode()) for report in REPORTS}
    for seed in seeds:
        for report in REPORTS:
            for futures_only in (True, False):
                for year in published_years(seed, report, as_of, futures_only):
                    name = f"{seed}/{report}/{'futures' if futures_only else 'combined'}/{year}.zip"
                    hashes[name] = _sha(annual_zip(seed, report, year, as_of, futures_only))
            hashes[f"{seed}/{report}/workbook/{as_of.year}.zip"] = _sha(
                annual_workbook_zip(seed, report, as_of.year, as_of)
            )
            hashes[f"{seed}/{report}/history.txt"] = _sha(history_text(seed, report, as_of, rows=3000))
            hashes[f"{seed}/{report}/site_export.csv"] = _sha(site_export_csv(seed, report, as_of))
    return dict(sorted(hashes.items()))


if __name__ == "__main__":
    hashes = cot_file_hashes()
    Path(sys.argv[1]).write_text(json.dumps(hashes, indent=1) + "\n")
    print(f"{len(hashes)} files hashed")
