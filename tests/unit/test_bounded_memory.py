"""Memory on bad input is bounded: a parser walks its payload's text in place and stops at the bad-row bound, so
a huge file of garbage costs about its own size (it cost ~10x: a list of its lines, a StringIO copy, strip copies)."""

import tracemalloc
from datetime import UTC, date, datetime

import pytest

from resources.lake.bronze import RawPayload
from resources.lake.quarantine import TooManyBadRows
from resources.quality.row_policy import MAX_KEPT_BAD_ROWS
from resources.simulated import cboe, coinmetrics, cot, eia, fred
from resources.sources.cboe.parser import parse_cboe_csv
from resources.sources.coinmetrics.parser import parse_community_csv
from resources.sources.cot.parser import parse_cot_payload
from resources.sources.eia.parser import parse_daily_prices
from resources.sources.fred.parser import parse_fred_csv

SIZE = 10_000_000
# fixed costs, whatever the file's size: the kept rejections (10,000 lines with their reasons, ~3 MB) and the
# truncation check's window (the last 256 KiB split into lines, ~3 MB)
SLACK = 6_000_000


def _head(data: bytes, lines: int) -> bytes:
    return b"".join(data.splitlines(keepends=True)[:lines])


def _cboe() -> bytes:
    return _head(cboe.history_csv(7, "VIX", date(2001, 3, 1)), 1) + b"01/02/2020,x,x,x,x\n" * (SIZE // 19)


def _fred() -> bytes:
    return _head(fred.download_csv(7, "DGS10", date(2001, 3, 1)), 1) + b"2020-01-02,x\n" * (SIZE // 13)


def _eia() -> bytes:  # EIA downloads have no final newline
    head = _head(eia.download_csv(7, "RNGWHHD", datetime(2001, 3, 1, tzinfo=UTC)), 5).rstrip(b"\n")
    return head + b"\n01/02/2020,x" * (SIZE // 13)


def _coinmetrics() -> bytes:
    head = _head(coinmetrics.community_csv(7, "btc", date(2012, 3, 1)), 1)
    line = b"2020-01-02" + b",x" * head.count(b",") + b"\n"
    return head + line * (SIZE // len(line))


def _cot() -> bytes:  # short rows: pyarrow's invalid rows, 5 M of them
    return _head(cot.annual_text(7, "tff", 2007, date(2008, 3, 1)), 1) + b"x,y\n" * (SIZE // 4)


@pytest.mark.parametrize(
    ("make", "parse", "source", "dataset"),
    [
        (_cboe, parse_cboe_csv, "cboe", "VIX"),
        (_fred, parse_fred_csv, "fred", "DGS10"),
        (_eia, parse_daily_prices, "eia", "RNGWHHD"),
        (_coinmetrics, parse_community_csv, "coinmetrics", "btc"),
        (_cot, parse_cot_payload, "cot", "tff_futures_only"),
    ],
    ids=["cboe", "fred", "eia", "coinmetrics", "cot"],
)
def test_a_huge_bad_file_costs_about_its_own_size(make, parse, source, dataset):
    data = make()
    at = datetime.now(UTC)
    payload = RawPayload(source=source, dataset=dataset, location="/sim/bad.csv", data=data, fetched_at=at)
    tracemalloc.start()
    try:
        with pytest.raises(TooManyBadRows) as info:
            parse(payload)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(info.value.kept) == MAX_KEPT_BAD_ROWS
    assert peak < len(data) + SLACK, f"peak {peak / 1e6:.1f} MB for a {len(data) / 1e6:.1f} MB file"


def test_a_good_cot_file_is_checked_and_parsed_without_a_copy_of_itself():
    """The truncation check reads the bytes (only the tail decoded), the UTF-8 check goes 1 MiB at a time and
    pyarrow reads a view of the payload: under tracemalloc a 5 MB file peaked at 2.0x its size before, 0.1x now."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(cot.annual_text(7, "tff", 2007, date(2008, 3, 1)).decode())))
    code = [h.strip() for h in rows[0]].index("CFTC_Contract_Market_Code")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(rows[0])
    copy = 0
    while out.tell() < 5_000_000:  # distinct markets per copy: unique keys, every row good
        writer.writerows([*r[:code], f"{copy:03d}{r[code][:3]}", *r[code + 1 :]] for r in rows[1:])
        copy += 1
    data = out.getvalue().encode()
    payload = RawPayload(
        source="cot", dataset="tff_futures_only", location="/sim/x.txt", data=data, fetched_at=datetime.now(UTC)
    )
    tracemalloc.start()
    try:
        result = parse_cot_payload(payload)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not result.rejections and result.table.num_rows == (len(rows) - 1) * copy
    assert peak < 0.5 * len(data), f"peak {peak / 1e6:.1f} MB for a {len(data) / 1e6:.1f} MB file"
