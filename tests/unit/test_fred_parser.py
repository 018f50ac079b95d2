"""FRED parsers: the real CSV downloads (both layouts), API answers in XML and JSON, and every kind of bad input."""

import contextlib
import csv
import json
from datetime import UTC, date, datetime

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
from resources.sources.fred.api_parser import parse_last_updated, parse_observations, parse_series
from resources.sources.fred.parser import parse_fred_csv, series_from_name

REAL_FILES = [
    "DCOILWTICO_current_layout.csv",
    "DCOILWTICO_old_layout.csv",
    "DEXUSEU.csv",
    "DGS10.csv",
    "DGS2.csv",
    "DGS3MO.csv",
    "T10Y2Y.csv",
]
URL = "http://127.0.0.1:9/fred/series/observations?series_id=DGS10&realtime_start=1776-07-04"


def _payload(data: str | bytes, dataset: str = "DGS10", location: str = "/data/DGS10.csv") -> RawPayload:
    return RawPayload(
        source="fred",
        dataset=dataset,
        location=location,
        data=data.encode() if isinstance(data, str) else data,
        fetched_at=datetime.now(UTC),
    )


def _expected_counts(path) -> tuple[int, int, str]:
    """(data rows, missing values, value column) read with the csv module, independently of the parser."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.reader(handle) if any(cell.strip() for cell in r)]
    header, data = rows[0], rows[1:]
    missing = sum(1 for r in data if r[1].strip() in ("", "."))
    return len(data), missing, header[1]


@pytest.mark.real_data
@pytest.mark.parametrize("name", REAL_FILES)
def test_every_real_download_parses_completely(real_data, name):
    path = real_data / "fred" / name
    rows, missing, column = _expected_counts(path)
    result = parse_fred_csv(_payload(path.read_bytes(), series_from_name(name), str(path)))
    table = result.table
    assert result.rejections == []
    assert table.num_rows == rows
    assert table.column("value").null_count == missing
    assert set(table.column("series_id").to_pylist()) == {column}
    dates = table.column("observation_date").to_pylist()
    assert dates == sorted(dates)
    assert all(table.column("vintage_inferred").to_pylist())
    assert all(table.column("available_at_derived").to_pylist())


@pytest.mark.real_data
def test_both_dcoilwtico_layouts_agree_where_they_overlap(real_data):
    tables = {}
    for layout in ("old", "current"):
        path = real_data / "fred" / f"DCOILWTICO_{layout}_layout.csv"
        table = parse_fred_csv(_payload(path.read_bytes(), "DCOILWTICO", str(path))).table.to_pandas()
        tables[layout] = table.set_index("observation_date")
    overlap = tables["old"].index.intersection(tables["current"].index)
    assert len(overlap) == 52
    old, new = tables["old"].loc[overlap], tables["current"].loc[overlap]
    assert old["value"].equals(new["value"])  # '.' (old) and '' (current) both read as null
    assert old["realtime_start"].equals(new["realtime_start"])
    assert tables["current"].loc[date(2020, 4, 20), "value"] == -36.98  # the negative WTI print is a real value


@pytest.mark.real_data
def test_crlf_download_without_final_newline(real_data):
    path = real_data / "fred" / "T10Y2Y.csv"
    assert path.read_bytes().count(b"\r\n") > 1000 and not path.read_bytes().endswith(b"\n")
    table = parse_fred_csv(_payload(path.read_bytes(), "T10Y2Y", str(path))).table.to_pandas()
    last = path.read_bytes().decode().splitlines()[-1].split(",")
    assert table.iloc[-1].observation_date == date.fromisoformat(last[0])
    assert table.iloc[-1].value == float(last[1])


def test_inferred_vintage_is_the_first_release_by_fred_calendar():
    text = "observation_date,DGS10\n2024-07-03,4.36\n2024-07-05,4.28\n2024-12-31,4.58\n"
    rows = parse_fred_csv(_payload(text)).table.to_pylist()
    # Thursday 4 July is a federal holiday; Friday 5 July is released on Monday 8 July
    assert [r["realtime_start"] for r in rows] == [date(2024, 7, 5), date(2024, 7, 8), date(2025, 1, 2)]
    assert rows[0]["available_at"] == datetime(2024, 7, 5, 21, 0, tzinfo=UTC)  # 17:00 EDT
    assert rows[2]["available_at"] == datetime(2025, 1, 2, 22, 0, tzinfo=UTC)  # 17:00 EST
    fx = parse_fred_csv(_payload("DATE,DEXUSEU\n2024-07-03,1.0780\n", "DEXUSEU")).table.to_pylist()
    assert fx[0]["realtime_start"] == date(2024, 7, 8)  # H.10: the following Monday


@pytest.mark.parametrize("marker", [".", "", " ", "NA", "N/A", "#N/A", "NaN"])
def test_missing_markers_are_null(marker):
    table = parse_fred_csv(_payload(f"DATE,DGS10\n2024-01-02,{marker}\n2024-01-03,3.91\n")).table
    assert table.column("value").to_pylist() == [None, 3.91]


@pytest.mark.parametrize(
    ("text", "error", "row"),
    [
        ("<!DOCTYPE html><html><body>Service unavailable</body></html>", NotTabularError, None),
        ('{"error_code":400}', NotTabularError, None),
        ("", NotTabularError, None),
        (b"\x89PNG\r\n\x1a\n\x00\x00", NotTabularError, None),
        ("observation_date,DGS10\n", EmptyPayloadError, 1),
        ("obs_date,DGS10\n2024-01-02,3.95\n", SchemaMismatchError, 1),
        ("DATE,DGS2\n2024-01-02,3.95\n", SchemaMismatchError, 1),
        ("DATE\n2024-01-02\n", SchemaMismatchError, 1),
        ("DATE,DGS10,DGS2\n2024-01-02,3.95,4.33\n", SchemaMismatchError, 1),
        ("DATE,DGS10\n2024-01-02,3.95\n2024-01-03,3.9", None, None),  # no final newline is fine
        ("DATE,DGS10\n2024-01-02,3.95\n2024-01-0", TruncatedPayloadError, 3),
        ("DATE,DGS10\n2024-01-02,3.95\n2024-01-03", TruncatedPayloadError, 3),
    ],
    ids=[
        "html",
        "json",
        "empty",
        "binary",
        "header-only",
        "renamed-date-column",
        "other-series",
        "missing-value-column",
        "extra-column",
        "no-final-newline",
        "cut-in-date",
        "cut-before-value",
    ],
)
def test_whole_file_problems_raise_typed_errors(text, error, row):
    payload = _payload(text)
    if error is None:
        assert parse_fred_csv(payload).table.num_rows == 2
        return
    with pytest.raises(error) as err:
        parse_fred_csv(payload)
    assert (err.value.source, err.value.dataset, err.value.location) == ("fred", "DGS10", "/data/DGS10.csv")
    assert "/data/DGS10.csv" in str(err.value)
    if row is not None:
        assert err.value.row == row


def test_bad_rows_are_reported_with_their_line_numbers():
    text = (
        "DATE,DGS10\r\n"
        "2024-01-02,3.95\r\n"
        "2024-01-03,abc\r\n"  # line 3: non-numeric
        "2024-01-02,3.96\r\n"  # line 4: duplicate date
        "01/05/2024,3.97\r\n"  # line 5: not ISO
        "2024-01-08\r\n"  # line 6: short row
        "2024-01-09,inf\r\n"  # line 7: not finite
    )
    result = parse_fred_csv(_payload(text))
    assert [(r.row_number, r.error_type) for r in result.rejections] == [
        (3, "BadValue"),
        (4, "Duplicate"),
        (5, "BadDate"),
        (6, "ShortRow"),
        (7, "BadValue"),
    ]
    assert "first on line 2" in result.rejections[1].reason
    assert result.table.num_rows == 1


def test_series_from_file_name():
    assert series_from_name("/x/DCOILWTICO_old_layout.csv") == "DCOILWTICO"
    assert series_from_name("T10Y2Y.csv") == "T10Y2Y"


# --- API answers ---------------------------------------------------------------------------------------------------

ENVELOPE = (
    'realtime_start="1776-07-04" realtime_end="9999-12-31" observation_start="2024-01-01" '
    'observation_end="9999-12-31" units="lin" output_type="1" file_type="xml" order_by="observation_date" '
    'sort_order="asc" count="{count}" offset="0" limit="100000"'
)


def _xml(*rows: str, count: int | None = None, envelope: str = ENVELOPE) -> str:
    head = envelope.format(count=len(rows) if count is None else count)
    body = "\n".join(f"  <observation {r}/>" for r in rows)
    return f'<?xml version="1.0" encoding="utf-8" ?>\n<observations {head}>\n{body}\n</observations>\n'


def _row(day: str, start: str, value: str, end: str = "9999-12-31") -> str:
    return f'realtime_start="{start}" realtime_end="{end}" date="{day}" value="{value}"'


def test_vintages_from_xml_and_json_are_the_same_rows():
    xml = _xml(
        _row("2024-01-02", "2024-01-03", "3.95", "2024-01-09"),
        _row("2024-01-02", "2024-01-10", "3.96"),
        _row("2024-01-15", "2024-01-16", "."),
    )
    records = [
        {"realtime_start": "2024-01-03", "realtime_end": "2024-01-09", "date": "2024-01-02", "value": "3.95"},
        {"realtime_start": "2024-01-10", "realtime_end": "9999-12-31", "date": "2024-01-02", "value": "3.96"},
        {"realtime_start": "2024-01-16", "realtime_end": "9999-12-31", "date": "2024-01-15", "value": "."},
    ]
    envelope = {"realtime_start": "1776-07-04", "realtime_end": "9999-12-31", "units": "lin", "output_type": 1}
    data = json.dumps({**envelope, "count": 3, "offset": 0, "limit": 100000, "observations": records})
    from_xml = parse_observations(_payload(xml, location=URL))
    from_json = parse_observations(_payload(data, location=URL))
    assert from_xml.rejections == from_json.rejections == []
    assert from_xml.table.equals(from_json.table)
    rows = from_xml.table.to_pylist()
    assert [(r["observation_date"], r["realtime_start"], r["value"]) for r in rows] == [
        (date(2024, 1, 2), date(2024, 1, 3), 3.95),
        (date(2024, 1, 2), date(2024, 1, 10), 3.96),
        (date(2024, 1, 15), date(2024, 1, 16), None),
    ]
    assert not any(r["vintage_inferred"] for r in rows) and all(r["available_at_derived"] for r in rows)
    assert rows[0]["available_at"] == datetime(2024, 1, 3, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (
            '<?xml version="1.0" ?>\n<error code="400" message="Bad Request.  The series does not exist."/>',
            NotTabularError,
            "The series does not exist",
        ),
        ('{"error_code":400,"error_message":"Bad Request.  Variable api_key is not set."}', NotTabularError, "api_key"),
        ("<!DOCTYPE html>\n<html><body><h1>503</h1></body></html>", NotTabularError, "HTML"),
        ("", NotTabularError, "empty"),
        ("DATE,DGS10\n2024-01-02,3.95\n", NotTabularError, "neither XML nor JSON"),
        (
            _xml(_row("2024-01-02", "2024-01-03", "3.95"), _row("2024-01-03", "2024-01-04", "3.9"))[:-60],
            TruncatedPayloadError,
            "stops part-way",
        ),
        ('{"realtime_start":"1776-07-04","observations":[{"date":"2024-', TruncatedPayloadError, "stops part-way"),
        (
            '<?xml version="1.0" ?>\n<seriess realtime_start="2024-01-02" realtime_end="2024-01-02"/>',
            SchemaMismatchError,
            "<seriess>",
        ),
        (
            _xml('realtime_start="2024-01-03" realtime_end="9999-12-31" day="2024-01-02" value="3.95"'),
            SchemaMismatchError,
            "no date",
        ),
        (
            _xml(_row("2024-01-02", "2024-01-03", "3.95"), envelope=ENVELOPE.replace(' count="{count}"', "")),
            SchemaMismatchError,
            "count",
        ),
        (
            _xml(_row("2024-01-02", "2024-01-31", "3.95"), envelope=ENVELOPE.replace("1776-07-04", "2024-01-31")),
            SchemaMismatchError,
            "clipped",
        ),
    ],
    ids=[
        "fred-error-xml",
        "fred-error-json",
        "html",
        "empty",
        "csv",
        "truncated-xml",
        "truncated-json",
        "wrong-root",
        "renamed-attribute",
        "envelope-without-count",
        "clipped-vintages",
    ],
)
def test_api_payload_problems_raise_typed_errors(data, error, message):
    with pytest.raises(error) as err:
        parse_observations(_payload(data, location=URL))
    assert (err.value.source, err.value.dataset, err.value.location) == ("fred", "DGS10", URL)
    assert message in str(err.value) and URL in str(err.value)
    if error is TruncatedPayloadError:
        assert err.value.row in (1, 2)  # the observation where the page stops


def test_bad_api_rows_become_rejections():
    xml = _xml(
        _row("2024-01-02", "2024-01-03", "3.95"),
        _row("2024-01-03", "2024-01-04", "n/a"),  # 2: non-numeric
        _row("2024-01-02", "2024-01-03", "3.95"),  # 3: duplicate vintage
        _row("2024-13-01", "2024-01-04", "3.9"),  # 4: bad date
        _row("2024-01-05", "2024-01-08", "3.9", end="2024-01-07"),  # 5: ends before it starts
        'realtime_start="2024-01-09" realtime_end="9999-12-31" value="3.9"',  # 6: no date
    )
    result = parse_observations(_payload(xml, location=URL))
    assert [(r.row_number, r.error_type) for r in result.rejections] == [
        (2, "BadValue"),
        (3, "Duplicate"),
        (4, "BadDate"),
        (5, "BadVintage"),
        (6, "MissingField"),
    ]
    assert result.table.num_rows == 1


def test_an_empty_page_is_no_rows_not_an_error():
    assert parse_observations(_payload(_xml(), location=URL)).table.num_rows == 0


SERIES_XML = (
    '<?xml version="1.0" encoding="utf-8" ?>\n<seriess realtime_start="2024-01-31" realtime_end="2024-01-31">\n'
    '  <series id="SP500" realtime_start="2024-01-31" realtime_end="2024-01-31" title="S&amp;P 500" '
    'observation_start="2014-01-31" observation_end="2024-01-30" frequency="Daily, Close" frequency_short="D" '
    'units="Index" units_short="Index" seasonal_adjustment="Not Seasonally Adjusted" seasonal_adjustment_short="NSA" '
    'last_updated="2024-01-31 08:05:11-06" popularity="83" notes="Copyright S&amp;P."/>\n</seriess>\n'
)


def test_series_metadata_in_xml_and_json():
    item = {
        "id": "SP500",
        "realtime_start": "2024-01-31",
        "realtime_end": "2024-01-31",
        "title": "S&P 500",
        "observation_start": "2014-01-31",
        "observation_end": "2024-01-30",
        "frequency": "Daily, Close",
        "frequency_short": "D",
        "units": "Index",
        "units_short": "Index",
        "seasonal_adjustment": "Not Seasonally Adjusted",
        "seasonal_adjustment_short": "NSA",
        "last_updated": "2024-01-31 08:05:11-06",
        "popularity": 83,
        "notes": "Copyright S&P.",
    }
    data = json.dumps({"realtime_start": "2024-01-31", "realtime_end": "2024-01-31", "seriess": [item]})
    from_xml = parse_series(_payload(SERIES_XML, "SP500", "http://x/fred/series?series_id=SP500"))
    from_json = parse_series(_payload(data, "SP500", "http://x/fred/series?series_id=SP500"))
    assert from_xml.table.equals(from_json.table)
    row = from_xml.table.to_pylist()[0]
    assert row["title"] == "S&P 500" and row["popularity"] == 83 and row["observation_end"] == date(2024, 1, 30)
    assert row["last_updated"] == row["available_at"] == datetime(2024, 1, 31, 14, 5, 11, tzinfo=UTC)


def test_series_problems():
    with pytest.raises(EmptyPayloadError):
        parse_series(_payload('<seriess realtime_start="2024-01-31" realtime_end="2024-01-31"/>', "SP500"))
    wrong = parse_series(_payload(SERIES_XML, "NASDAQ100"))
    assert [r.error_type for r in wrong.rejections] == ["WrongSeries"]
    bad_time = parse_series(_payload(SERIES_XML.replace("08:05:11-06", "8am"), "SP500"))
    assert [r.error_type for r in bad_time.rejections] == ["BadDate"]
    assert parse_last_updated("2013-07-31 09:26:16-05") == datetime(2013, 7, 31, 14, 26, 16, tzinfo=UTC)


# --- fuzzing: nothing but a SourceDataError may escape a parser ------------------------------------------------------

_CSV_ALPHABET = "DATEobservation_dDGS10,.-0123456789\r\n NA#/"
_API_ALPHABET = '<>/="observationsrealtime_startenddatevalue{}[]:,.-0123456789 \n'


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300) | st.text(alphabet=_CSV_ALPHABET, max_size=300))
def test_fuzz_csv_parser(blob):
    with contextlib.suppress(SourceDataError):
        parse_fred_csv(_payload(blob if isinstance(blob, bytes) else blob.encode()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=300)
    | st.text(alphabet=_API_ALPHABET, max_size=400)
    | st.builds(
        lambda cut, extra: _xml(_row("2024-01-02", "2024-01-03", "3.95"))[:cut] + extra,
        st.integers(0, 400),
        st.text(alphabet=_API_ALPHABET, max_size=40),
    )
)
def test_fuzz_api_parsers(blob):
    _parse_both(blob if isinstance(blob, bytes) else blob.encode())


_KEYS = [
    "observations",
    "seriess",
    "realtime_start",
    "realtime_end",
    "date",
    "value",
    "count",
    "limit",
    "id",
    "title",
    "last_updated",
    "error_code",
    "error_message",
    "output_type",
    "units",
    "popularity",
]
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.sampled_from(["2024-01-02", ".", "3.5", "lin", "1"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=8),
    max_leaves=30,
)


_LEAF = st.none() | st.integers() | st.sampled_from(["1776-07-04", "2024-01-02", "2024-02-30", "9999-12-31", ".", "x"])
_NEAR_VALID_PAGE = st.fixed_dictionaries(
    {
        "realtime_start": _LEAF,
        "realtime_end": _LEAF,
        "output_type": st.sampled_from([1, "1", 2, None]),
        "count": st.integers(-1, 5) | _LEAF,
        "limit": st.integers(0, 5),
        "observations": st.lists(
            st.dictionaries(st.sampled_from(["realtime_start", "realtime_end", "date", "value"]), _LEAF), max_size=5
        ),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_JSON | _NEAR_VALID_PAGE)
def test_fuzz_api_parsers_with_json_shapes(value):
    _parse_both(json.dumps(value).encode())


def _parse_both(data: bytes) -> None:
    with contextlib.suppress(SourceDataError):
        parse_observations(_payload(data, location=URL))
    with contextlib.suppress(SourceDataError):
        parse_series(_payload(data, location=URL))
