"""The COT parser on CFTC's real annual files, on Socrata pages, and on every kind of bad input."""

import contextlib
import csv
import io
import json
import zipfile
from collections import Counter
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
from resources.sources.cot.layouts import LAYOUTS
from resources.sources.cot.parser import identify, parse_cot_payload

REAL_FILES = [
    "legacy_futures_only/annual_2024_to_0123.txt",
    "legacy_futures_only/deacot2004_annual.txt",
    "tff_futures_only/FinFut_2017.txt",
    "tff_futures_only/FinFut_2018.txt",
    "tff_futures_only/FinFut_2019.txt",
    "tff_futures_only/FinFut_2021.txt",
    "tff_futures_only/FinFut_2022.txt",
    "tff_futures_only/FinFut_2024.txt",
    "disaggregated_futures_only/f_year_2023_to_0221.txt",
]
TFF_HEADER = ",".join(f.header for f in LAYOUTS["tff"].positions)
META = "Market_and_Exchange_Names,As_of_Date_In_Form_YYMMDD,Report_Date_as_YYYY-MM-DD,CFTC_Contract_Market_Code"


def _payload(data: bytes | str, location: str = "/data/FinFut24.txt", dataset: str = "tff_futures_only") -> RawPayload:
    raw = data.encode() if isinstance(data, str) else data
    return RawPayload(source="cot", dataset=dataset, location=location, data=raw, fetched_at=datetime.now(UTC))


def _tff_row(day: str = "2024-01-09", code: str = "13874A", oi: int = 1000, **cells: str) -> str:
    """A TFF row whose categories add up: longs + spreads + non-reportables = open interest on both sides."""
    values = {f.column: "0" for f in LAYOUTS["tff"].positions}
    values.update(
        open_interest=str(oi),
        dealer_long="100",
        dealer_short="300",
        asset_manager_long="400",
        asset_manager_short="200",
        leveraged_funds_long="150",
        leveraged_funds_short="250",
        total_reportable_long="650",
        total_reportable_short="750",
        nonreportable_long=str(oi - 650),
        nonreportable_short=str(oi - 750),
    )
    values.update(cells)
    yymmdd = day[2:].replace("-", "")
    positions = ",".join(f"{values[f.column]:>8}" for f in LAYOUTS["tff"].positions)
    return f'"E-MINI S&P 500 - CHICAGO MERCANTILE EXCHANGE",{yymmdd},{day},{code},{positions}'


def _tff_file(*rows: str, header: str | None = None) -> str:
    return "\r\n".join([header or f"{META},{TFF_HEADER}", *rows]) + "\r\n"


def _counts_by_code(path: Path) -> Counter:
    """Rows per market code, counted with the csv module (independently of the parser)."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = [h.strip().lower() for h in rows[0]]
    code_at = next(i for i, h in enumerate(header) if h.replace(" ", "_") == "cftc_contract_market_code")
    return Counter(r[code_at].strip() for r in rows[1:] if r)


# --- CFTC's real files ---------------------------------------------------------------------------------------


@pytest.mark.real_data
@pytest.mark.parametrize("name", REAL_FILES)
def test_real_files_parse_completely_with_the_files_row_counts_per_market(real_data, name):
    path = real_data / "cot" / name
    result = parse_cot_payload(_payload(path.read_bytes(), str(path)))
    assert result.rejections == []
    parsed = Counter(result.table.column("cftc_contract_market_code").to_pylist())
    assert parsed == _counts_by_code(path)
    assert set(result.table.column("futures_only").to_pylist()) == {True}
    names = result.table.column("market_name").to_pylist()
    assert all(n == n.strip() and n for n in names)  # the 2004 file's padding is gone


@pytest.mark.real_data
@pytest.mark.parametrize("name", REAL_FILES)
def test_real_files_categories_add_up_to_open_interest(real_data, name):
    path = real_data / "cot" / name
    result = parse_cot_payload(_payload(path.read_bytes(), str(path)))
    layout = next(lay for lay in LAYOUTS.values() if lay.report in name or lay.report[:3] in name.lower())
    frame = result.table.to_pandas()
    longs = frame[[*layout.long_columns, *layout.spread_columns]].sum(axis=1) - frame.open_interest
    shorts = frame[[*layout.short_columns, *layout.spread_columns]].sum(axis=1) - frame.open_interest
    # exact, except "Consolidated" markets (codes ending in +) whose scaled mini contracts round by a few
    consolidated = frame.cftc_contract_market_code.str.endswith("+")
    assert (longs[~consolidated] == 0).all() and (shorts[~consolidated] == 0).all()
    assert (longs.abs() <= 5).all() and (shorts.abs() <= 5).all()
    totals = frame.total_reportable_long + frame.nonreportable_long - frame.open_interest
    assert (totals[~consolidated] == 0).all() and (totals.abs() <= 5).all()


@pytest.mark.real_data
def test_real_values_match_the_file_cell_for_cell(real_data):
    path = real_data / "cot" / "tff_futures_only" / "FinFut_2024.txt"
    table = parse_cot_payload(_payload(path.read_bytes(), str(path))).table.to_pandas()
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    line = next(r for r in rows[1:] if r[3].strip() == "13874A" and r[2] == "2024-12-31")
    row = table[(table.cftc_contract_market_code == "13874A") & (table.report_date == date(2024, 12, 31))].iloc[0]
    for field in LAYOUTS["tff"].positions:
        assert row[field.column] == int(line[header.index(field.header)])
    assert row.available_at == datetime(2025, 1, 6, 20, 30, tzinfo=UTC)  # New Year's Day moved it to Monday
    assert row.available_at_derived


@pytest.mark.real_data
def test_report_type_comes_from_the_header_not_the_file_name(real_data):
    path = real_data / "cot" / "legacy_futures_only" / "deacot2004_annual.txt"
    misleading = _payload(path.read_bytes(), "/downloads/FinFut04.txt")
    layout, futures_only = identify(misleading)
    assert (layout.report, futures_only) == ("legacy", True)
    result = parse_cot_payload(misleading)
    assert "noncommercial_long" in result.table.column_names
    with pytest.raises(SchemaMismatchError, match="Legacy report where a Traders in Financial Futures"):
        parse_cot_payload(misleading, expect="tff")


@pytest.mark.real_data
def test_zip_archives_are_read_from_their_member(real_data):
    path = real_data / "cot" / "tff_futures_only" / "FinFut_2022.txt"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("FinFutYY.txt", path.read_bytes())
    zipped = parse_cot_payload(_payload(buffer.getvalue(), "/downloads/fut_fin_txt_2022.zip"))
    plain = parse_cot_payload(_payload(path.read_bytes(), str(path)))
    assert zipped.table.equals(plain.table)


@pytest.mark.real_data
def test_markets_are_keyed_by_code_across_cftcs_2022_renames(real_data):
    path = real_data / "cot" / "tff_futures_only" / "FinFut_2022.txt"
    table = parse_cot_payload(_payload(path.read_bytes(), str(path))).table.to_pandas()
    emini = table[table.cftc_contract_market_code == "13874A"]
    assert len(emini) == 52 and emini.report_date.is_unique
    assert set(emini.market_name) == {
        "E-MINI S&P 500 STOCK INDEX - CHICAGO MERCANTILE EXCHANGE",
        "E-MINI S&P 500 - CHICAGO MERCANTILE EXCHANGE",
    }


# --- synthetic files: shape, markers and every refusal -----------------------------------------------------


def test_a_small_file_parses_with_release_times():
    result = parse_cot_payload(_payload(_tff_file(_tff_row("2024-06-18"), _tff_row("2024-06-25"))))
    assert result.rejections == []
    rows = result.table.to_pylist()
    assert [r["available_at"] for r in rows] == [
        datetime(2024, 6, 24, 19, 30, tzinfo=UTC),  # Juneteenth on Wednesday: released Monday
        datetime(2024, 6, 28, 19, 30, tzinfo=UTC),
    ]
    assert [r["available_at_derived"] for r in rows] == [True, False]


@pytest.mark.parametrize("marker", [".", "", "  ", "NA"])
def test_missing_markers_are_nulls_not_errors(marker):
    result = parse_cot_payload(_payload(_tff_file(_tff_row(other_reportable_spread=marker))))
    assert result.rejections == []
    assert result.table.column("other_reportable_spread").to_pylist() == [None]


def test_html_error_page_is_refused_naming_source_and_url():
    url = "https://publicreporting.cftc.gov/resource/gpe5-46if.json?$limit=10"
    with pytest.raises(NotTabularError) as err:
        parse_cot_payload(_payload("<!DOCTYPE html><html><body>503</body></html>", url))
    assert err.value.source == "cot" and err.value.dataset == "tff_futures_only" and err.value.location == url
    assert "HTML" in str(err.value) and url in str(err.value)


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (f"{META},{TFF_HEADER}".replace("Lev_Money_Positions_Long_All", "Lev_Money_Long_All"), "Lev_Money_Positions"),
        (f"{META},{TFF_HEADER}".replace(",NonRept_Positions_Short_All", ""), "NonRept_Positions_Short_All"),
        (
            f"{META},{TFF_HEADER}".replace("Report_Date_as_YYYY-MM-DD", "Day").replace(
                "As_of_Date_In_Form_YYMMDD", "D"
            ),
            "Report_Date_as_YYYY-MM-DD",
        ),
    ],
    ids=["renamed", "missing", "no-date"],
)
def test_renamed_or_missing_columns_are_named_with_the_header_row(header, missing):
    with pytest.raises(SchemaMismatchError) as err:
        parse_cot_payload(_payload(_tff_file(_tff_row(), header=header)))
    assert err.value.row == 1 and missing in str(err.value)


def test_a_file_of_no_known_report_is_refused():
    with pytest.raises(SchemaMismatchError, match="not a COT report header"):
        parse_cot_payload(_payload("DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2024,1,2,3,4\n"))


def test_bad_rows_are_refused_with_their_line_numbers():
    text = _tff_file(
        _tff_row("2024-01-02"),
        _tff_row("2024-01-09", dealer_long="12x"),  # line 3: non-numeric
        _tff_row("2024-01-02"),  # line 4: duplicate of line 2
        _tff_row("2024-02-30"),  # line 5: no such date
        _tff_row("2024-01-16", code="13874"),  # line 6: bad code
        _tff_row("2024-01-23", asset_manager_short="-5"),  # line 7: negative
        '"SHORT ROW",240130,2024-01-30,13874A,1',  # line 8: too few fields
    )
    result = parse_cot_payload(_payload(text))
    assert [(r.row_number, r.error_type) for r in result.rejections] == [
        (3, "BadValue"),
        (4, "Duplicate"),
        (5, "BadDate"),
        (6, "BadCode"),
        (7, "BadValue"),
        (8, "ShortRow"),
    ]
    reasons = [r.reason for r in result.rejections]
    assert "Dealer_Positions_Long_All '12x'" in reasons[0]
    assert "first on line 2" in reasons[1]
    assert "negative Asset_Mgr_Positions_Short_All -5" in reasons[4]
    assert result.rejections[0].raw.startswith('"E-MINI S&P 500')
    assert result.table.num_rows == 1


def test_empty_and_header_only_payloads():
    with pytest.raises(NotTabularError, match="empty"):
        parse_cot_payload(_payload(b""))
    with pytest.raises(NotTabularError, match="empty"):
        parse_cot_payload(_payload(b"\r\n  \r\n"))
    with pytest.raises(EmptyPayloadError) as err:
        parse_cot_payload(_payload(_tff_file()))
    assert err.value.row == 1


def test_a_file_cut_mid_row_is_truncated_naming_the_row():
    text = _tff_file(_tff_row("2024-01-02"), _tff_row("2024-01-09"))
    with pytest.raises(TruncatedPayloadError) as err:
        parse_cot_payload(_payload(text[: len(text) - 60]))
    assert err.value.row == 3


def test_broken_zip_archives():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("FinFutYY.txt", _tff_file(_tff_row()))
    data = buffer.getvalue()
    with pytest.raises(TruncatedPayloadError, match="zip archive"):
        parse_cot_payload(_payload(data[: len(data) // 2], "/d/fut_fin_txt_2024.zip"))
    two = io.BytesIO()
    with zipfile.ZipFile(two, "w") as archive:
        archive.writestr("a.txt", "x")
        archive.writestr("b.txt", "y")
    with pytest.raises(NotTabularError, match=r"one \.txt report"):
        parse_cot_payload(_payload(two.getvalue(), "/d/two.zip"))


def test_binary_and_non_utf8_payloads_are_not_tabular():
    with pytest.raises(NotTabularError, match="binary"):
        parse_cot_payload(_payload(b"\x00\x01\x02garbage"))
    with pytest.raises(NotTabularError, match="UTF-8"):
        parse_cot_payload(
            _payload(_tff_file(_tff_row()).replace("E-MINI", "E-MIN\udcff").encode("utf-8", "surrogateescape"))
        )


def test_legacy_combined_is_told_by_the_file_name():
    header = ",".join(
        ["Market and Exchange Names", "As of Date in Form YYYY-MM-DD", "CFTC Contract Market Code"]
        + [f.header for f in LAYOUTS["legacy"].positions]
    )
    row = '"GOLD - COMMODITY EXCHANGE INC.",2024-01-09,088691,' + ",".join(
        ["100", "10", "20", "5", "60", "50", "75", "75", "25", "25"]
    )
    assert identify(_payload(f"{header}\n{row}\n", "/d/annual.txt"))[1] is True
    result = parse_cot_payload(_payload(f"{header}\n{row}\n", "/d/deahistfo2024.zip:annualof.txt"))
    assert result.table.column("futures_only").to_pylist() == [False]


# --- Socrata JSON pages -------------------------------------------------------------------------------------


def _record(**fields: str) -> dict:
    record = {f.api_name: "0" for f in LAYOUTS["tff"].positions}
    record.update(
        {
            "market_and_exchange_names": "EURO FX - CHICAGO MERCANTILE EXCHANGE",
            "report_date_as_yyyy_mm_dd": "2024-01-09T00:00:00.000",
            "cftc_contract_market_code": "099741",
            "open_interest_all": "100",
            "dealer_positions_long_all": "60",
            "dealer_positions_short_all": "40",
            "nonrept_positions_long_all": "40",
            "nonrept_positions_short_all": "60",
            "futonly_or_combined": "FutOnly",
        }
    )
    record.update(fields)
    return record


def _json(records: object) -> RawPayload:
    return _payload(json.dumps(records), "http://127.0.0.1/resource/gpe5-46if.json?$offset=0")


def test_socrata_records_parse_with_absent_fields_as_nulls():
    sparse = _record(report_date_as_yyyy_mm_dd="2024-01-16T00:00:00.000")
    del sparse["lev_money_positions_spread"]  # Socrata leaves null fields out of a record
    result = parse_cot_payload(_json([_record(), sparse]))
    assert result.rejections == []
    rows = result.table.to_pylist()
    assert [r["report_date"] for r in rows] == [date(2024, 1, 9), date(2024, 1, 16)]
    assert rows[1]["leveraged_funds_spread"] is None and rows[0]["open_interest"] == 100


def test_socrata_spellings_seen_in_the_wild_are_accepted():
    record = _record()
    record["lev_money_positions_long_all"] = record.pop("lev_money_positions_long")
    assert parse_cot_payload(_json([record])).rejections == []


def test_an_empty_page_is_an_empty_result():
    result = parse_cot_payload(_json([]))
    assert result.table.num_rows == 0 and result.rejections == []


def test_socrata_errors_and_broken_json():
    error = {"code": "query.soql.no-such-column", "error": True, "message": "No such column: foo"}
    with pytest.raises(NotTabularError, match="no-such-column: No such column: foo"):
        parse_cot_payload(_json(error))
    body = "[" + "\n,".join(json.dumps(r) for r in (_record(), _record())) + "]\n"
    with pytest.raises(TruncatedPayloadError) as err:
        parse_cot_payload(_payload(body[:-40], "http://x/resource/gpe5-46if.json"))
    assert err.value.row == 2
    with pytest.raises(NotTabularError, match="not valid JSON"):
        parse_cot_payload(_payload("{nope", "http://x/resource/gpe5-46if.json"))


def test_socrata_records_missing_a_field_everywhere_are_a_schema_mismatch():
    records = [_record(), _record()]
    for record in records:
        del record["asset_mgr_positions_short"]
    with pytest.raises(SchemaMismatchError, match="asset_mgr_positions_short") as err:
        parse_cot_payload(_json(records))
    assert err.value.row == 1


def test_bad_socrata_records_are_refused_by_record_number():
    records = [_record(), "not an object", _record(open_interest_all="1.5e3"), _record(open_interest_all=True)]
    result = parse_cot_payload(_json(records))
    assert [(r.row_number, r.error_type) for r in result.rejections] == [
        (2, "BadRecord"),
        (3, "BadValue"),
        (4, "BadValue"),
    ]


# --- fuzz -----------------------------------------------------------------------------------------------------

_VALID = _tff_file(_tff_row("2024-01-02"), _tff_row("2024-01-09"))
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=300)
    | st.text(alphabet='"ABC,.-0123456789_\r\n <>[]{}PK', max_size=300)
    | st.builds(lambda cut, junk: _VALID[:cut] + junk, st.integers(0, len(_VALID)), st.text(max_size=40))
    | st.builds(lambda i, c: _VALID[:i] + c + _VALID[i + 1 :], st.integers(0, len(_VALID) - 1), st.characters())
)
def test_fuzz_text_only_typed_errors_escape(blob):
    with contextlib.suppress(SourceDataError):
        parse_cot_payload(_payload(blob if isinstance(blob, bytes) else blob.encode("utf-8", "surrogatepass")))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(sorted(_record())), _json_values), max_size=4) | _json_values)
def test_fuzz_json_only_typed_errors_escape(records):
    with contextlib.suppress(SourceDataError):
        parse_cot_payload(_payload(json.dumps(records), "http://x/resource/gpe5-46if.json"))
