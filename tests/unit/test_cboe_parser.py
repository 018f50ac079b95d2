"""The Cboe parser on the real files and on every kind of bad input."""

import contextlib
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resources.errors import EmptyPayloadError, NotTabularError, SchemaMismatchError, SourceDataError
from resources.lake.bronze import RawPayload
from resources.sources.cboe.parser import parse_cboe_csv
from tests.conftest import data_lines


def _payload(text: str | bytes, symbol: str = "VIX", name: str | None = None) -> RawPayload:
    data = text.encode() if isinstance(text, str) else text
    return RawPayload(
        source="cboe",
        dataset=symbol,
        location=name or f"/data/{symbol}_History.csv",
        data=data,
        fetched_at=datetime.now(UTC),
    )


@pytest.mark.real_data
@pytest.mark.parametrize(
    ("symbol", "first"),
    [
        ("VIX", date(1990, 1, 2)),
        ("VIX3M", date(2009, 9, 18)),
        ("VIX9D", date(2011, 1, 4)),
        ("SKEW", date(1990, 1, 2)),
    ],
)
def test_real_files_parse_completely(real_data, symbol, first):
    path = real_data / "cboe" / f"{symbol}_History.csv"
    result = parse_cboe_csv(_payload(path.read_bytes(), symbol, str(path)))
    assert result.rejections == []
    assert result.table.num_rows == data_lines(path)
    dates = result.table.column("observed_date").to_pylist()
    assert min(dates) == first
    assert dates == sorted(dates)


@pytest.mark.real_data
def test_real_vix_values_match_the_file(real_data):
    path = real_data / "cboe" / "VIX_History.csv"
    table = parse_cboe_csv(_payload(path.read_bytes(), "VIX", str(path))).table.to_pandas().set_index("observed_date")
    # 03/16/2020 is in the file as 82.690000 (the COVID close record)
    line = next(x for x in path.read_text().splitlines() if x.startswith("03/16/2020"))
    assert table.loc[date(2020, 3, 16), "close"] == float(line.split(",")[4])


def test_available_at_is_the_close_in_new_york():
    result = parse_cboe_csv(_payload("DATE,OPEN,HIGH,LOW,CLOSE\n07/01/2024,12,13,11,12.5\n01/02/2024,1,2,0.5,1.5\n"))
    times = dict(
        zip(
            result.table.column("observed_date").to_pylist(),
            result.table.column("available_at").to_pylist(),
            strict=True,
        )
    )
    assert times[date(2024, 7, 1)] == datetime(2024, 7, 1, 20, 15, tzinfo=UTC)  # EDT
    assert times[date(2024, 1, 2)] == datetime(2024, 1, 2, 21, 15, tzinfo=UTC)  # EST


def test_single_value_layout():
    result = parse_cboe_csv(_payload("DATE,SKEW\n01/02/2024,140.5\n", "SKEW"))
    assert result.table.column("close").to_pylist() == [140.5]
    assert result.table.column("open").to_pylist() == [None]


def test_html_error_page_is_refused_with_source_and_file():
    with pytest.raises(NotTabularError) as err:
        parse_cboe_csv(_payload("<!DOCTYPE html><html><body>503</body></html>"))
    assert err.value.source == "cboe" and err.value.location == "/data/VIX_History.csv"
    assert "HTML" in str(err.value) and "VIX_History.csv" in str(err.value)


def test_missing_column_names_the_header_line():
    with pytest.raises(SchemaMismatchError) as err:
        parse_cboe_csv(_payload("DATE,OPEN,HIGH,LOW\n01/02/2024,1,2,0.5\n"))
    assert err.value.row == 1 and "CLOSE" in str(err.value)


def test_header_without_rows_is_an_empty_payload():
    with pytest.raises(EmptyPayloadError):
        parse_cboe_csv(_payload("DATE,OPEN,HIGH,LOW,CLOSE\n"))
    with pytest.raises(NotTabularError):
        parse_cboe_csv(_payload(""))


def test_bad_rows_are_reported_with_their_line_numbers():
    text = (
        "DATE,OPEN,HIGH,LOW,CLOSE\n"
        "01/02/2024,1,2,0.5,1.5\n"
        "01/03/2024,1,2,0.5,abc\n"  # line 3: non-numeric
        "01/02/2024,1,2,0.5,1.6\n"  # line 4: duplicate date
        "13/45/2024,1,2,0.5,1.6\n"  # line 5: bad date
        "01/05/2024,1,2\n"  # line 6: short row (truncated)
    )
    result = parse_cboe_csv(_payload(text))
    assert [(r.row_number, r.error_type) for r in result.rejections] == [
        (3, "BadValue"),
        (4, "Duplicate"),
        (5, "BadDate"),
        (6, "ShortRow"),
    ]
    assert "first on line 2" in result.rejections[1].reason
    assert result.table.num_rows == 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | st.text(alphabet="DATEOPNHIGLWC,/0123456789.-\r\n xé<>", max_size=400))
def test_fuzz_only_typed_errors_escape(blob):
    with contextlib.suppress(SourceDataError):
        parse_cboe_csv(_payload(blob if isinstance(blob, bytes) else blob.encode()))
