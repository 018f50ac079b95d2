"""Every real layout class, from synthetic files the simulated publisher writes in each variant.

COT: Legacy, TFF and Disaggregated; futures-only and combined; text files, zips and the public reporting site's
CSV export (combined kept apart from futures-only); negative zero and delta-adjusted negatives in combined
reports. EIA: series headers ending with their unit in words or in parentheses.
"""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from resources.lake.bronze import RawPayload
from resources.simulated import cot, eia
from resources.sources.cot.client import payloads_from_files
from resources.sources.cot.parser import parse_cot_payload
from resources.sources.eia.parser import parse_weekly_series

SEED, AS_OF = 7, date(2024, 3, 1)
REPORTS = ("legacy", "tff", "disaggregated")


def _payload(data: bytes, dataset: str, location: str = "/d/file.txt") -> RawPayload:
    return RawPayload(source="cot", dataset=dataset, location=location, data=data, fetched_at=datetime.now(UTC))


@pytest.mark.parametrize("report", REPORTS)
@pytest.mark.parametrize("futures_only", [True, False], ids=["futures-only", "combined"])
def test_site_csv_export_is_recognised_and_keeps_combined_apart(tmp_path: Path, report: str, futures_only: bool):
    path = tmp_path / f"{report}_{futures_only}.csv"
    path.write_bytes(cot.site_export_csv(SEED, report, AS_OF, futures_only=futures_only))
    [payload] = payloads_from_files([path])
    assert payload.dataset == f"{report}_{'futures_only' if futures_only else 'combined'}"
    result = parse_cot_payload(payload, expect=report)
    assert not result.rejections and result.table.num_rows > 1000
    assert set(result.table["futures_only"].to_pylist()) == {futures_only}
    expected = cot.published(SEED, report, futures_only, cot.as_of_time(SEED, AS_OF))
    assert result.table.num_rows == len(expected)
    assert max(result.table["report_date"].to_pylist()) == max(expected["report_date"])


def test_site_export_with_iso_timestamps_reads_the_same_dates():
    usual = parse_cot_payload(_payload(cot.site_export_csv(SEED, "tff", AS_OF), "tff_futures_only"))
    iso = parse_cot_payload(_payload(cot.site_export_csv(SEED, "tff", AS_OF, iso_dates=True), "tff_futures_only"))
    assert usual.table.column("report_date").equals(iso.table.column("report_date"))


@pytest.mark.parametrize("report", REPORTS)
@pytest.mark.parametrize("futures_only", [True, False], ids=["futures-only", "combined"])
def test_annual_text_and_zip_in_both_flavours(tmp_path: Path, report: str, futures_only: bool):
    path = tmp_path / cot.LAYOUTS[report].annual_files[futures_only][0].format(year=2023)
    path.write_bytes(cot.annual_zip(SEED, report, 2023, AS_OF, futures_only))
    [payload] = payloads_from_files([path])
    assert payload.dataset == cot.LAYOUTS[report].dataset(futures_only)
    result = parse_cot_payload(payload, expect=report)
    assert not result.rejections and set(result.table["futures_only"].to_pylist()) == {futures_only}


def _set_cell(text: bytes, line: int, header: str, value: str) -> bytes:
    lines = text.split(b"\r\n")
    names = [h.strip('"') for h in lines[0].decode().split('","')]
    at = names.index(header)
    cells = lines[line].split(b",", at + 1)  # the cells before a position column hold no commas
    cells[at] = value.encode()
    lines[line] = b",".join(cells)
    return b"\r\n".join(lines)


def test_negative_zero_is_zero_and_combined_positions_may_be_slightly_negative():
    combined = cot.annual_text(SEED, "legacy", 2023, AS_OF, futures_only=False)
    spoiled = _set_cell(combined, 1, "Nonreportable Positions-Short (All)", "     -0")
    spoiled = _set_cell(spoiled, 2, "Commercial Positions-Long (All)", "    -12")
    result = parse_cot_payload(_payload(spoiled, "legacy_combined", "/d/annualof.txt"))
    assert not result.rejections
    rows = result.table.to_pylist()
    assert rows[0]["nonreportable_short"] == 0 and rows[1]["commercial_long"] == -12


def test_a_negative_futures_only_position_is_still_a_bad_row():
    futures = cot.annual_text(SEED, "legacy", 2023, AS_OF)
    spoiled = _set_cell(_set_cell(futures, 1, "Commercial Positions-Long (All)", "-12"), 2, "Open Interest (All)", "-0")
    result = parse_cot_payload(_payload(spoiled, "legacy_futures_only", "/d/annual.txt"))
    [bad] = result.rejections
    assert bad.row_number == 2 and "negative Commercial Positions-Long (All) -12" in bad.reason


@pytest.mark.parametrize(
    ("header", "units"),
    [
        ("Weekly U.S. Ending Stocks excluding SPR of Crude Oil Thousand Barrels", "MBBL"),
        ("Weekly U.S. Ending Stocks excluding SPR of Crude Oil (Thousand Barrels)", "MBBL"),
        ("Weekly U.S. Days of Supply of Crude Oil excluding SPR Number of Days", "DAYS"),
        ("Weekly U.S. Days of Supply of Crude Oil excluding SPR (Days)", "DAYS"),
    ],
)
def test_eia_series_headers_end_with_units_in_words_or_parentheses(header: str, units: str):
    data = eia.download_csv(SEED, "WCESTUS1", datetime(2016, 3, 31, tzinfo=UTC)).decode()
    lines = data.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("Week of,"))
    if units == "DAYS":  # a series the lake does not model: its own id, read from the page URL
        lines = [line.replace("WCESTUS1", "W_EPC0_VSD_NUS_DAYS") for line in lines]
    lines[at] = f"Week of,{header}"
    result = parse_weekly_series(_payload("\n".join(lines).encode(), "WCESTUS1"))
    assert not result.rejections and set(result.table["units"].to_pylist()) == {units}
