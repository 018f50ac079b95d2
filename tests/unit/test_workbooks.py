"""Publishers' spreadsheet downloads load through the text parsers (`resources/sources/workbooks.py`).

The workbooks come from the simulated publisher, written as .xlsx (no maintained library writes .xls): these
tests cover detection by bytes, sheet choice, cell rendering (dates in the header's form, numbers, empty and error
cells), row numbering, files mode and the three sources' parsers on both paths. The .xls cell reading (xlrd) is
covered only for damaged files here (a readable .xls needs a writer we do not have); see README.
"""

import csv
import io
import zipfile
from datetime import UTC, date, datetime

import pyarrow.compute as pc
import pytest

from resources.errors import NotTabularError, SchemaMismatchError, TruncatedPayloadError
from resources.lake.bronze import RawPayload
from resources.simulated import cboe, cot, eia
from resources.simulated.spreadsheets import typed, xlsx

SEED = 7
OLE2_GARBAGE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8  # an OLE2 signature, then nonsense


def _payload(source: str, dataset: str, data: bytes, name: str) -> RawPayload:
    return RawPayload(source=source, dataset=dataset, location=f"/d/{name}", data=data, fetched_at=datetime.now(UTC))


def _zip(member: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, data)
    return buffer.getvalue()


def test_cot_compressed_excel_file_loads_like_the_text_file_and_a_bad_cell_is_named_by_its_sheet_row(tmp_path):
    from resources.sources.cot.client import payloads_from_files
    from resources.sources.cot.parser import parse_cot_payload

    as_of = date(2004, 3, 1)
    (tmp_path / "dea_fut_xls_2003.zip").write_bytes(cot.annual_workbook_zip(SEED, "legacy", 2003, as_of))
    [payload] = payloads_from_files([tmp_path])
    assert payload.dataset == "legacy_futures_only"  # identified from the sheet's header
    sheet = parse_cot_payload(payload)
    text = parse_cot_payload(_payload("cot", "legacy_futures_only", cot.annual_zip(SEED, "legacy", 2003, as_of), "t"))
    assert not sheet.rejections and sheet.table == text.table and sheet.table.num_rows > 100

    rows = list(csv.reader(cot.annual_text(SEED, "legacy", 2003, as_of).decode().splitlines()))
    cells = [rows[0], *([typed(c) for c in row] for row in rows[1:61])]  # the header and 60 rows
    cells[41][8] = "#N/A"  # an error cell in a position column, sheet row 42
    spoiled = parse_cot_payload(_payload("cot", "legacy_futures_only", xlsx({"XLS": cells}), "annual.xlsx"))
    [rejection] = spoiled.rejections
    assert rejection.row_number == 42 and "#N/A" in (rejection.raw or rejection.reason)
    assert spoiled.table.num_rows == 59


def test_eia_xls_download_loads_its_data_1_sheet_like_the_download_csv(tmp_path):
    from resources.sources.eia.client import file_cadence, payloads_from_files
    from resources.sources.eia.parser import parse_daily_prices, parse_weekly_series

    at = datetime(2004, 3, 1, 23, tzinfo=UTC)
    for series_id, parse, cadence in (
        ("WCESTUS1", parse_weekly_series, "weekly"),
        ("RNGWHHD", parse_daily_prices, "daily"),
    ):
        (tmp_path / f"{series_id}.xls").write_bytes(eia.xls_workbook(SEED, series_id, at))
        [payload] = payloads_from_files([tmp_path / f"{series_id}.xls"])
        assert payload.dataset == series_id and file_cadence(payload) == cadence
        sheet = parse(payload)
        download = parse(_payload("eia", series_id, eia.download_csv(SEED, series_id, at), "download.csv"))
        assert not sheet.rejections and sheet.table.num_rows == download.table.num_rows > 100
        key = [(k, "ascending") for k in ("series_id", "period")]
        assert sheet.table.sort_by(key) == download.table.sort_by(key)

    book = eia.xls_workbook(SEED, "WCESTUS1", at)
    without = xlsx({"Contents": [["Weekly U.S. Ending Stocks"]]})
    with pytest.raises(SchemaMismatchError, match="no sheet 'Data 1' \\(sheets: Contents\\)") as err:
        parse_weekly_series(_payload("eia", "WCESTUS1", without, "WCESTUS1.xls"))
    assert err.value.location == "/d/WCESTUS1.xls"
    assert parse_weekly_series(_payload("eia", "WCESTUS1", book, "w.xls")).table.num_rows > 100


def test_cboe_vixarchive_workbook_loads_like_the_older_csv_download(tmp_path):
    from resources.sources.cboe.client import payloads_from_files
    from resources.sources.cboe.parser import parse_cboe_csv

    as_of = date(2004, 3, 1)
    (tmp_path / "vixarchive.xls").write_bytes(cboe.archive_workbook(SEED, "VIX", as_of))
    [payload] = payloads_from_files([tmp_path])
    assert payload.dataset == "VIX"
    sheet = parse_cboe_csv(payload)
    legacy = parse_cboe_csv(_payload("cboe", "VIX", cboe.history_csv(SEED, "VIX", as_of, layout="legacy"), "v.csv"))
    assert not sheet.rejections and sheet.table.num_rows == legacy.table.num_rows > 1000
    assert sheet.table["observed_date"] == legacy.table["observed_date"]
    assert pc.max(pc.abs(pc.subtract(sheet.table["close"], legacy.table["close"]))).as_py() < 1e-9


@pytest.mark.parametrize("source", ["cot", "eia", "cboe"])
def test_a_damaged_workbook_is_refused_with_a_typed_error_naming_source_and_file(source):
    """An .xls that xlrd cannot read (alone, or zipped as CFTC ships it) and a cut .xlsx: typed errors, no rows."""
    from resources.sources.cboe.parser import parse_cboe_csv
    from resources.sources.cot.parser import parse_cot_payload
    from resources.sources.eia.parser import parse_weekly_series

    parse, dataset = {
        "cot": (parse_cot_payload, "legacy_combined"),
        "eia": (parse_weekly_series, "WCESTUS1"),
        "cboe": (parse_cboe_csv, "VIX"),
    }[source]
    with pytest.raises(NotTabularError, match="xls workbook cannot be read") as err:
        parse(_payload(source, dataset, OLE2_GARBAGE, "annualof.xls"))
    assert err.value.source == source and err.value.location == "/d/annualof.xls"
    cut = cboe.archive_workbook(SEED, "VIX", date(1991, 3, 1))[:-200]
    with pytest.raises((NotTabularError, TruncatedPayloadError)) as err:
        parse(_payload(source, dataset, cut, "vixarchive.xlsx"))
    assert err.value.source == source and err.value.location == "/d/vixarchive.xlsx"
    if source == "cot":
        with pytest.raises(NotTabularError, match="xls workbook cannot be read") as err:
            parse(_payload(source, dataset, _zip("annualof.xls", OLE2_GARBAGE), "dea_com_xls_2023.zip"))
        assert err.value.location == "/d/dea_com_xls_2023.zip:annualof.xls"
