"""Bounded cost on garbage: a 50 MB Cboe file of one repeated bad line, landed and rejected (it was 52 s, 5.9 GB
and 3.3 M quarantine rows before parsers stopped collecting at the bad-row bound, then 757 MB while parsers still
split the whole text into lines first), against the same process landing a 1 KB bad file (imports, bronze, Delta)."""

from __future__ import annotations

import sys

from resources.lake.delta import read_table
from resources.lake.quarantine import QUARANTINE
from resources.lake.storage import LakeStorage
from tests.bench.common import Figure, isolated_env, run_measured, scratch

SCRIPT = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from resources.errors import BadRowsError
from resources.lake.bronze import RawPayload
from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from resources.sources.base import land_payloads
from resources.sources.cboe.parser import parse_cboe_csv
from resources.sources.cboe.spec import INDEX_CLOSES
path = Path(sys.argv[1])
payload = RawPayload(source="cboe", dataset="VIX", location=str(path), data=path.read_bytes(),
                     fetched_at=datetime.now(UTC))
try:
    land_payloads(LakeStorage.from_settings(get_settings()), [payload], parse=parse_cboe_csv, spec=INDEX_CLOSES,
                  run_id="bench")
except BadRowsError:
    pass
"""


def run() -> list[Figure]:
    root = scratch()
    line = b"01/02/2020,x,x,x,x\n"
    path = root / "VIX_History.csv"
    path.write_bytes(b"DATE,OPEN,HIGH,LOW,CLOSE\n" + line * (50_000_000 // len(line)))
    seconds, peak = run_measured([sys.executable, "-c", SCRIPT, str(path)], isolated_env(root))
    rows = read_table(LakeStorage(root_uri=str(root / "lake")), QUARANTINE).num_rows
    small_root = scratch()
    small = small_root / "VIX_History.csv"
    small.write_bytes(b"DATE,OPEN,HIGH,LOW,CLOSE\n" + line * 50)
    _, floor = run_measured([sys.executable, "-c", SCRIPT, str(small)], isolated_env(small_root))
    return [
        Figure("landing: 50 MB file of one bad line, wall time", seconds, "s", "was 52 s"),
        Figure("landing: 50 MB file of one bad line, peak RSS", peak, "MB", "was 5,900 MB, then 757 MB"),
        Figure("landing: 1 KB file of one bad line, peak RSS (the floor)", floor, "MB", "-"),
        Figure("landing: 50 MB file of one bad line, quarantine rows", rows, "rows", "<= 10,000"),
    ]
