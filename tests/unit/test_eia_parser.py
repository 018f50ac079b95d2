"""The EIA parser (API v2 JSON pages and download CSVs) on the real files and on every kind of bad input."""

import contextlib
import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resources.errors import (
    EmptyPayloadError,
    NotTabularError,
    SchemaMismatchError,
    SourceDataError,
    TruncatedPayloadError,
)
from resources.lake.bronze import RawPayload
from resources.sources.eia.parser import parse_daily_prices, parse_weekly_series, series_from_preamble

URL = "http://127.0.0.1:1/v2/petroleum/sum/sndw/data/?frequency=weekly&offset=0&length=5000"
PREAMBLE = [
    "Weekly U.S. Ending Stocks excluding SPR of Crude Oil",
    "https://www.eia.gov/dnav/pet/hist/LeafHandler.ashx?n=PET&s=WCESTUS1&f=W",
    "11:11:14 GMT+0200 (hora de verano de Europa central)",
    "Data source: U.S. Energy Information Administration",
]
HEADER = "Week of,Weekly U.S. Ending Stocks excluding SPR of Crude Oil Thousand Barrels"
GOOD_WEEKLY = "\n".join([*PREAMBLE, HEADER, "08/30/2024,418310", "08/23/2024,425183", "08/16/2024,426029"])

# Real files: expected series, units, newest and oldest dates (read off the files by eye).
REAL = {
    "Weekly_U.S._Ending_Stocks_excluding_SPR_of_Crude_Oil.csv": ("WCESTUS1", "MBBL", "weekly"),
    "Weekly_Working_Gas_in_Underground_Storage.csv": ("NW2_EPG0_SWO_R48_BCF", "BCF", "weekly"),
    "Henry_Hub_Natural_Gas_Spot_Price.csv": ("RNGWHHD", "$/MMBTU", "daily"),
}


def _file(text: str | bytes, name: str = "/data/Weekly_Crude.csv", dataset: str = "WCESTUS1") -> RawPayload:
    data = text.encode() if isinstance(text, str) else text
    return RawPayload("eia", dataset, name, data, datetime.now(UTC), "text/csv")


def _row(period: str, value: object = "418310", series: str = "WCESTUS1", units: str = "MBBL") -> dict:
    return {
        "period": period,
        "duoarea": "NUS",
        "area-name": "U.S.",
        "product": "EPC0",
        "product-name": "Crude Oil",
        "process": "SAX",
        "process-name": "Ending Stocks Excluding SPR",
        "series": series,
        "series-description": "U.S. Ending Stocks excluding SPR of Crude Oil (Thousand Barrels)",
        "value": value,
        "units": units,
    }


def _page(rows: list, *, total: int | None = None, frequency: str = "weekly", offset: int = 0, **extra) -> RawPayload:
    response = {"total": str(len(rows) if total is None else total), "dateFormat": "YYYY-MM-DD"}
    response.update({"frequency": frequency, "data": rows, **extra})
    doc = {
        "response": response,
        "request": {
            "command": "/v2/petroleum/sum/sndw/data/",
            "params": {"frequency": frequency, "offset": offset, "length": 5000, "api_key": "***"},
        },
        "apiVersion": "2.1.8",
    }
    return RawPayload("eia", "petroleum_weekly_supply", URL, json.dumps(doc).encode(), datetime.now(UTC))


def _expected_rows(path: Path) -> tuple[int, date, date]:
    """Rows after the `Week of`/`Day` header, counted with the csv module; newest and oldest date."""
    with path.open(newline="") as handle:
        lines = list(csv.reader(handle))
    start = next(i for i, row in enumerate(lines) if row and row[0] in ("Week of", "Day")) + 1
    rows = [row for row in lines[start:] if row]
    dates = [datetime.strptime(row[0], "%m/%d/%Y").date() for row in rows]
    return len(rows), dates[0], dates[-1]


@pytest.mark.real_data
@pytest.mark.parametrize("name", sorted(REAL))
def test_real_files_parse_completely(real_data, name):
    path = real_data / "eia" / name
    series_id, units, cadence = REAL[name]
    parse = parse_weekly_series if cadence == "weekly" else parse_daily_prices
    result = parse(_file(path.read_bytes(), str(path), series_id))
    count, newest, oldest = _expected_rows(path)
    assert result.rejections == []
    assert result.table.num_rows == count
    assert set(result.table.column("series_id").to_pylist()) == {series_id}
    assert set(result.table.column("units").to_pylist()) == {units}
    periods = result.table.column("period").to_pylist()
    assert (max(periods), min(periods)) == (newest, oldest)


@pytest.mark.real_data
def test_real_values_match_the_files(real_data):
    crude = real_data / "eia" / "Weekly_U.S._Ending_Stocks_excluding_SPR_of_Crude_Oil.csv"
    table = parse_weekly_series(_file(crude.read_bytes(), str(crude))).table.to_pylist()
    by_date = {r["period"]: r for r in table}
    assert by_date[date(2024, 8, 9)]["value"] == 430678.0  # the file writes the date `08/9/2024`
    # WPSR of the week ending Friday 9 Aug 2024: Wednesday 14 Aug, 10:30 EDT
    assert by_date[date(2024, 8, 9)]["available_at"] == datetime(2024, 8, 14, 14, 30, tzinfo=UTC)
    assert by_date[date(2024, 8, 9)]["available_at_derived"] is False
    henry = real_data / "eia" / "Henry_Hub_Natural_Gas_Spot_Price.csv"
    rows = {r["period"]: r for r in parse_daily_prices(_file(henry.read_bytes(), str(henry))).table.to_pylist()}
    assert rows[date(1997, 1, 7)]["value"] == 3.82  # the last line is `01/7/1997,3.82 ` (trailing blank)
    assert rows[date(1997, 1, 7)]["available_at_derived"] is True


def test_series_is_read_from_the_preamble():
    assert series_from_preamble(PREAMBLE) == "WCESTUS1"
    assert series_from_preamble(["Henry Hub", "http://www.eia.gov/dnav/ng/hist/rngwhhdd.htm"]) == "RNGWHHD"
    gas = ["x", "https://www.eia.gov/dnav/ng/ng_stor_wkly_s1_w.htm", "t", "s", "Series Key,NW2_EPG0_SWO_R48_BCF.W"]
    assert series_from_preamble(gas) == "NW2_EPG0_SWO_R48_BCF"
    assert series_from_preamble(["Some title", "https://www.eia.gov/dnav/ng/ng_stor_wkly_s1_w.htm"]) is None


def test_a_file_whose_series_cannot_be_identified_is_refused():
    text = GOOD_WEEKLY.replace(PREAMBLE[1], "https://www.eia.gov/petroleum/supply/weekly/")
    with pytest.raises(SchemaMismatchError) as err:
        parse_weekly_series(_file(text))
    assert "which EIA series" in str(err.value) and err.value.source == "eia"
    assert err.value.location == "/data/Weekly_Crude.csv" and err.value.row == 2


def test_weekly_csv_rows_and_release_times():
    result = parse_weekly_series(_file(GOOD_WEEKLY))
    rows = result.table.to_pylist()
    assert [(r["series_id"], r["period"], r["value"], r["units"]) for r in rows] == [
        ("WCESTUS1", date(2024, 8, 30), 418310.0, "MBBL"),
        ("WCESTUS1", date(2024, 8, 23), 425183.0, "MBBL"),
        ("WCESTUS1", date(2024, 8, 16), 426029.0, "MBBL"),
    ]
    # week ending 30 Aug 2024: Labor Day Monday 2 Sep pushes the WPSR to Thursday 5 Sep, 11:00 EDT
    assert (rows[0]["available_at"], rows[0]["available_at_derived"]) == (datetime(2024, 9, 5, 15, 0, tzinfo=UTC), True)
    assert (rows[1]["available_at"], rows[1]["available_at_derived"]) == (
        datetime(2024, 8, 28, 14, 30, tzinfo=UTC),
        False,
    )


def test_gas_storage_file_uses_the_thursday_release():
    text = "\n".join(
        [
            "Weekly Working Gas in Underground Storage",
            "https://www.eia.gov/dnav/ng/ng_stor_wkly_s1_w.htm",
            "22:12:40 GMT-0500 (Central Daylight Time)",
            "Source: U.S. Energy Information Administration",
            "Series Link,https://www.eia.gov/dnav/ng/hist/nw2_epg0_swo_r48_bcfw.htm",
            "Series Key,NW2_EPG0_SWO_R48_BCF.W",
            "Week of,Lower 48 States Natural Gas Working Underground Storage BCF",
            "01/12/2024,3336",
            "01/5/2024,3490",
        ]
    )
    rows = parse_weekly_series(_file(text, dataset="NW2_EPG0_SWO_R48_BCF")).table.to_pylist()
    # Thursday 11 Jan 2024 10:30 EST; the MLK Monday of the next week does not move the gas report
    assert rows[1]["available_at"] == datetime(2024, 1, 11, 15, 30, tzinfo=UTC)
    assert rows[0]["available_at"] == datetime(2024, 1, 18, 15, 30, tzinfo=UTC)
    assert [r["available_at_derived"] for r in rows] == [False, False]


def test_missing_markers_become_nulls():
    text = GOOD_WEEKLY + "\n08/9/2024,\n08/2/2024,NA\n07/26/2024,.\n07/19/2024,--"
    result = parse_weekly_series(_file(text))
    assert result.rejections == []
    assert result.table.column("value").to_pylist()[3:] == [None, None, None, None]


def test_bad_csv_rows_are_rejected_with_their_line_numbers():
    text = GOOD_WEEKLY + "\n08/9/2024,4306x8\n08/23/2024,1\n08/7/2024,2\n13/45/2024,3\n07/26/2024,4,5\n07/19/2024,6"
    result = parse_weekly_series(_file(text))
    assert [(r.row_number, r.error_type) for r in result.rejections] == [
        (9, "BadValue"),
        (10, "Duplicate"),
        (11, "BadDate"),  # a Wednesday
        (12, "BadDate"),
        (13, "LongRow"),
    ]
    assert "first on line 7" in result.rejections[1].reason and "not a Friday" in result.rejections[2].reason
    assert result.table.num_rows == 4


@pytest.mark.parametrize(
    ("text", "error", "row", "words"),
    [
        (GOOD_WEEKLY.replace("Week of,", "Week,"), SchemaMismatchError, 5, "'Week'"),
        (GOOD_WEEKLY.replace(HEADER, "Week of"), SchemaMismatchError, 5, "value column"),
        (GOOD_WEEKLY.replace("Thousand Barrels", "Thousand Barrels per Day"), SchemaMismatchError, 5, "MBBL/D"),
        (GOOD_WEEKLY.replace("Thousand Barrels", "Barrels"), SchemaMismatchError, 5, "no units"),
        ("\n".join([*PREAMBLE, HEADER]), EmptyPayloadError, 5, "no data rows"),
        (GOOD_WEEKLY + "\n08/9/20", TruncatedPayloadError, 9, "cut off"),
        (GOOD_WEEKLY + "\n08", TruncatedPayloadError, 9, "cut off"),
        ("<!DOCTYPE html><html><body>503</body></html>", NotTabularError, None, "HTML"),
        ("", NotTabularError, None, "empty"),
        ("\x00\x01\x02binary", NotTabularError, None, "binary"),
        (GOOD_WEEKLY.replace("Week of,", "Day,"), SchemaMismatchError, 5, "daily file"),
    ],
    ids=[
        "renamed-column",
        "missing-column",
        "wrong-units",
        "unknown-units",
        "no-rows",
        "truncated-date",
        "truncated-line",
        "html",
        "empty",
        "binary",
        "wrong-cadence",
    ],
)
def test_whole_file_problems_raise_typed_errors(text, error, row, words):
    with pytest.raises(error) as err:
        parse_weekly_series(_file(text))
    assert err.value.source == "eia" and err.value.dataset == "WCESTUS1"
    assert err.value.location == "/data/Weekly_Crude.csv" and "Weekly_Crude.csv" in str(err.value)
    assert err.value.row == row
    assert words in str(err.value)


def test_api_page_rows_with_missing_markers():
    rows = [_row("2024-08-16"), _row("2024-08-23", "."), _row("2024-08-30", None), _row("2024-09-06", 417000)]
    result = parse_weekly_series(_page(rows))
    assert result.rejections == []
    values = dict(zip(result.table.column("period").to_pylist(), result.table.column("value").to_pylist(), strict=True))
    assert values == {
        date(2024, 8, 16): 418310.0,
        date(2024, 8, 23): None,
        date(2024, 8, 30): None,
        date(2024, 9, 6): 417000.0,
    }


def test_api_daily_prices_are_dated_by_the_weekly_refresh():
    rows = [
        _row("2024-08-26", "77.42", "RWTC", "$/BBL"),  # Monday
        _row("2024-08-30", "73.55", "RWTC", "$/BBL"),  # Friday of the same week
    ]
    table = parse_daily_prices(_page(rows, frequency="daily")).table.to_pylist()
    # the week ending Fri 30 Aug 2024 is refreshed with the WPSR, delayed by Labor Day to Thu 5 Sep 11:00 EDT
    assert {r["available_at"] for r in table} == {datetime(2024, 9, 5, 15, 0, tzinfo=UTC)}
    assert all(r["available_at_derived"] for r in table)


def test_bad_api_records_are_rejected_with_their_record_numbers():
    rows = [
        _row("2024-08-16"),
        _row("2024-08-23", "n/a?"),
        _row("2024-08-16", "1"),
        _row("2024-08-21"),
        _row("2024-13-01"),
        _row("2024-08-30", "1", units="MBBL/D"),
        {"period": "2024-09-06", "series": "WCESTUS1", "units": "MBBL"},
        "not a record",
        _row("2024-09-13", "inf"),
    ]
    result = parse_weekly_series(_page(rows))
    assert [(r.row_number, r.error_type) for r in result.rejections] == [
        (2, "BadValue"),
        (3, "Duplicate"),
        (4, "BadDate"),
        (5, "BadDate"),
        (6, "BadUnits"),
        (7, "MissingField"),
        (8, "BadRecord"),
        (9, "BadValue"),
    ]
    assert result.table.num_rows == 1


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        (
            {"error": {"code": "API_KEY_MISSING", "message": "No api_key was supplied."}},
            NotTabularError,
            "API_KEY_MISSING",
        ),
        ({"error": "Invalid frequency 'x' provided.", "code": 400}, NotTabularError, "Invalid frequency"),
        ({"error": "bad key abc123secret?api_key=abc123secret", "code": 403}, NotTabularError, "api_key=***"),
        ({"data": []}, SchemaMismatchError, "no 'response'"),
        ({"response": {"total": "x", "data": []}}, SchemaMismatchError, "response.total"),
        ([1, 2], NotTabularError, "not an EIA API v2 response"),
    ],
    ids=["key-gate", "bad-parameter", "secret-redacted", "no-response", "bad-total", "array"],
)
def test_api_error_bodies_raise_typed_errors(body, error, words):
    payload = RawPayload("eia", "petroleum_weekly_supply", URL, json.dumps(body).encode(), datetime.now(UTC))
    with pytest.raises(error) as err:
        parse_weekly_series(payload)
    assert words in str(err.value) and err.value.location == URL and err.value.source == "eia"
    assert "abc123secret" not in str(err.value).replace("bad key abc123secret", "")


def test_api_schema_and_page_problems():
    no_value = [{k: v for k, v in _row("2024-08-16").items() if k not in ("value", "units")}]
    with pytest.raises(SchemaMismatchError, match=r"'value' missing .*data\[0\]=value") as err:
        parse_weekly_series(_page(no_value))
    assert err.value.row == 1
    with pytest.raises(SchemaMismatchError, match="daily data offered to the weekly table"):
        parse_weekly_series(_page([_row("2024-08-16")], frequency="daily"))
    with pytest.raises(TruncatedPayloadError, match="holds 1 rows, EIA announced 3"):
        parse_weekly_series(_page([_row("2024-08-16")], total=3))
    body = _page([_row("2024-08-16"), _row("2024-08-23")]).data
    with pytest.raises(TruncatedPayloadError, match="cut-off"):
        parse_weekly_series(RawPayload("eia", "x", URL, body[: len(body) // 2], datetime.now(UTC)))
    with pytest.raises(NotTabularError, match="invalid JSON"):
        parse_weekly_series(RawPayload("eia", "x", URL, b'{"response": nope, "x": 1}', datetime.now(UTC)))


def test_an_empty_query_result_is_not_an_error():
    result = parse_weekly_series(_page([], total=0))
    assert result.table.num_rows == 0 and result.rejections == []
    # the last page of a query: offset 5000 of 5000 rows
    assert parse_weekly_series(_page([], total=5000, offset=5000)).table.num_rows == 0


def test_warnings_are_accepted():
    warning = [{"warning": "incomplete return", "description": "The API can only return 5000 rows"}]
    assert parse_weekly_series(_page([_row("2024-08-16")], warnings=warning)).table.num_rows == 1


_CSV_ALPHABET = "Weekofday,/0123456789.-NA\r\n xé<>&=?s:WCESTUS1BCF"
_JSON_ALPHABET = '{}[]":,0123456789.-eEtruefalsn responsedatatotalperiodseriesvalueunits'


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=400)
    | st.text(alphabet=_CSV_ALPHABET, max_size=400).map(lambda t: "\n".join(PREAMBLE) + "\n" + t)
    | st.text(alphabet=_JSON_ALPHABET, max_size=400)
    | st.text(max_size=200).map(lambda t: GOOD_WEEKLY[: len(t) % len(GOOD_WEEKLY)] + t),
    st.sampled_from([parse_weekly_series, parse_daily_prices]),
)
def test_fuzz_only_typed_errors_escape(blob, parse):
    data = blob if isinstance(blob, bytes) else blob.encode()
    with contextlib.suppress(SourceDataError):
        parse(_file(data))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["period", "series", "value", "units", "x"]),
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
        ),
        max_size=6,
    ),
    st.one_of(st.integers(-5, 10), st.text(max_size=4)),
)
def test_fuzz_api_records_only_typed_errors_escape(records, total):
    doc = {"response": {"total": total, "frequency": "weekly", "data": records}, "request": {"params": {}}}
    with contextlib.suppress(SourceDataError):
        parse_weekly_series(RawPayload("eia", "x", URL, json.dumps(doc).encode(), datetime.now(UTC)))
