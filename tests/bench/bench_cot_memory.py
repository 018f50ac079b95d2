"""COT text parser memory (tracemalloc, Python allocations; pyarrow's own buffers are not traced): a good 20 MB TFF
file of unique rows and 20 MB of short garbage rows under a TFF header, peak over the payload itself."""

from __future__ import annotations

import contextlib
import csv
import io
import time
import tracemalloc
from datetime import UTC, date, datetime

from resources.lake.bronze import RawPayload
from resources.lake.quarantine import TooManyBadRows
from resources.simulated import cot
from resources.sources.cot.parser import parse_cot_payload
from tests.bench.common import Figure

SIZE = 20_000_000


def _good(text: str) -> bytes:
    rows = list(csv.reader(io.StringIO(text)))
    code = [h.strip() for h in rows[0]].index("CFTC_Contract_Market_Code")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(rows[0])
    copy = 0
    while out.tell() < SIZE:  # distinct markets per copy: unique keys, every row good
        writer.writerows([*r[:code], f"{copy:03d}{r[code][:3]}", *r[code + 1 :]] for r in rows[1:])
        copy += 1
    return out.getvalue().encode()


def _peak(data: bytes) -> tuple[float, float]:
    payload = RawPayload(
        source="cot", dataset="tff_futures_only", location="/sim/x.txt", data=data, fetched_at=datetime.now(UTC)
    )
    tracemalloc.start()
    started = time.perf_counter()
    with contextlib.suppress(TooManyBadRows):  # the garbage file ends there, as it should
        parse_cot_payload(payload)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6, time.perf_counter() - started


def run() -> list[Figure]:
    text = cot.annual_text(7, "tff", 2007, date(2008, 3, 1)).decode()
    good_mb, _ = _peak(_good(text))
    bad_mb, bad_s = _peak((text.split("\n", 1)[0] + "\n").encode() + b"x,y\n" * (SIZE // 4))
    return [
        Figure("COT parse 20 MB good TFF file: traced peak over the file", good_mb, "MB", "was 40.4 MB (2.0x)"),
        Figure("COT parse 20 MB of garbage rows: traced peak over the file", bad_mb, "MB", "was 705.6 MB"),
        Figure("COT parse 20 MB of garbage rows: time to TooManyBadRows", bad_s, "s", "was 164 s"),
    ]
