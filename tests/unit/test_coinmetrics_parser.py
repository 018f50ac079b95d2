"""The Coin Metrics parsers (API v4 JSON pages, community CSVs) on the real file and on every kind of bad input."""

import contextlib
import csv
import json
import math
from collections import Counter
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
from resources.sources.coinmetrics.parser import (
    asset_from_name,
    parse_asset_metrics_json,
    parse_coinmetrics,
    parse_community_csv,
)
from resources.sources.coinmetrics.spec import API_DATASET
from tests.conftest import data_lines

URL = "http://127.0.0.1:1/v4/timeseries/asset-metrics?assets=btc,eth&metrics=PriceUSD"


def _csv(text: str | bytes, asset: str = "btc", name: str | None = None) -> RawPayload:
    data = text.encode() if isinstance(text, str) else text
    return RawPayload("coinmetrics", asset, name or f"/data/{asset}.csv", data, datetime.now(UTC))


def _page(doc: object) -> RawPayload:
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return RawPayload("coinmetrics", API_DATASET, URL, data, datetime.now(UTC), "application/json")


def _cells(table) -> dict[tuple[str, str, date], float]:
    rows = table.to_pylist()
    return {(r["asset"], r["metric"], r["observed_date"]): r["value"] for r in rows}


@pytest.mark.real_data
def test_real_btc_file_parses_every_cell(real_data):
    path = real_data / "coinmetrics" / "btc.csv"
    result = parse_community_csv(_csv(path.read_bytes(), "btc", str(path)))
    assert result.rejections == []
    # expected counts straight from the csv module: one silver row per non-empty cell, per metric column
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == data_lines(path)
    expected = Counter(metric for row in rows for metric, cell in row.items() if metric != "date" and cell != "")
    got = Counter(result.table.column("metric").to_pylist())
    assert got == expected
    assert len(got) == 39  # every metric of the file is kept, not only the universe's
    assert set(result.table.column("asset").to_pylist()) == {"btc"}
    days = result.table.column("observed_date").to_pylist()
    assert (min(days), max(days)) == (date(2009, 1, 3), date(2019, 11, 1))


@pytest.mark.real_data
def test_real_btc_values_match_the_file(real_data):
    path = real_data / "coinmetrics" / "btc.csv"
    cells = _cells(parse_community_csv(_csv(path.read_bytes(), "btc", str(path))).table)
    line = next(x for x in path.read_text().splitlines() if x.startswith("2019-10-30,"))
    header = path.read_text().splitlines()[0].split(",")
    fields = dict(zip(header, line.split(","), strict=True))
    for metric in ("PriceUSD", "CapMVRVCur", "CapRealUSD", "AdrActCnt", "NVTAdj", "VtyDayRet30d"):
        assert cells["btc", metric, date(2019, 10, 30)] == float(fields[metric])
    # the last row is a partial day: price present, on-chain metrics still empty
    assert ("btc", "PriceUSD", date(2019, 11, 1)) in cells
    assert ("btc", "AdrActCnt", date(2019, 11, 1)) not in cells


def test_available_at_is_the_next_utc_morning():
    result = parse_community_csv(_csv("time,PriceUSD\n2024-02-28,1\n2024-02-29,2\n"))
    times = dict(zip(result.table["observed_date"].to_pylist(), result.table["available_at"].to_pylist(), strict=True))
    assert times[date(2024, 2, 28)] == datetime(2024, 2, 29, 6, 0, tzinfo=UTC)
    assert times[date(2024, 2, 29)] == datetime(2024, 3, 1, 6, 0, tzinfo=UTC)
    assert result.table["available_at_derived"].to_pylist() == [False, False]


def test_time_and_date_columns_and_timestamps_are_accepted():
    api_style = parse_community_csv(_csv("time,PriceUSD,HashRate\n2020-01-01T00:00:00.000000000Z,7200.17,1e8\n"))
    old_style = parse_community_csv(_csv("date,PriceUSD,HashRate\n2020-01-01,7200.17,100000000\n"))
    assert _cells(api_style.table) == _cells(old_style.table)
    assert _cells(old_style.table)["btc", "PriceUSD", date(2020, 1, 1)] == 7200.17


def test_asset_comes_from_the_file_name_or_an_asset_column():
    assert asset_from_name("/x/y/ETH.csv") == "eth"
    by_name = parse_community_csv(_csv("time,PriceUSD\n2020-01-01,1\n", "eth", "/d/eth.csv"))
    assert by_name.table["asset"].to_pylist() == ["eth"]
    by_column = parse_community_csv(_csv("asset,time,PriceUSD\nbtc,2020-01-01,1\neth,2020-01-01,2\n", "all"))
    assert sorted(by_column.table["asset"].to_pylist()) == ["btc", "eth"]


def test_missing_markers_are_absences_not_errors():
    result = parse_community_csv(_csv("time,PriceUSD,CapRealUSD,NVTAdj\n2020-01-01,1,,NA\n2020-01-02,.,null,3\n"))
    assert result.rejections == []
    assert _cells(result.table) == {
        ("btc", "PriceUSD", date(2020, 1, 1)): 1.0,
        ("btc", "NVTAdj", date(2020, 1, 2)): 3.0,
    }


def test_text_metrics_are_left_out_of_the_numeric_table():
    result = parse_community_csv(_csv("time,PriceUSD,principal_market_usd\n2020-01-01,1,coinbase-btc-usd-spot\n"))
    assert result.rejections == [] and result.table["metric"].to_pylist() == ["PriceUSD"]


def test_html_json_and_empty_payloads_are_not_tabular():
    for body, words in (
        ("<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "HTML"),
        ('{"error": {"type": "bad_parameter", "message": "nope"}}', "JSON"),
        ("", "empty"),
        (b"\x00\x01\x02PK", "binary"),
    ):
        with pytest.raises(NotTabularError) as err:
            parse_community_csv(_csv(body))
        assert words in str(err.value) and err.value.source == "coinmetrics"
        assert err.value.dataset == "btc" and err.value.location == "/data/btc.csv"


def test_missing_or_renamed_columns_name_the_header_line():
    with pytest.raises(SchemaMismatchError) as err:
        parse_community_csv(_csv("day,PriceUSD\n2020-01-01,1\n"))
    assert err.value.row == 1 and "'time'" in str(err.value) and "btc.csv" in str(err.value)
    with pytest.raises(SchemaMismatchError, match="PriceUSD renamed to 'priceusd'"):
        parse_community_csv(_csv("time,priceusd\n2020-01-01,1\n"))
    with pytest.raises(SchemaMismatchError, match="missing column PriceUSD"):
        parse_community_csv(_csv("time,CapRealUSD\n2020-01-01,1\n"))
    with pytest.raises(SchemaMismatchError, match="duplicate columns"):
        parse_community_csv(_csv("time,PriceUSD,PriceUSD\n2020-01-01,1,1\n"))


def test_header_without_rows_is_an_empty_payload():
    with pytest.raises(EmptyPayloadError) as err:
        parse_community_csv(_csv("time,PriceUSD\n"))
    assert err.value.row == 1


def test_a_download_cut_mid_row_is_truncated():
    with pytest.raises(TruncatedPayloadError) as err:
        parse_community_csv(_csv("time,PriceUSD,CapRealUSD\n2020-01-01,1,2\n2020-01-02,3"))
    assert err.value.row == 3


def test_bad_rows_are_reported_with_their_line_numbers():
    text = (
        "time,PriceUSD,CapRealUSD\n"
        "2020-01-01,1,2\n"
        "2020-01-02,1,abc\n"  # line 3: non-numeric
        "2020-01-01,1,2\n"  # line 4: duplicate day
        "2020-13-45,1,2\n"  # line 5: bad date
        "2020-01-05,1\n"  # line 6: short row
        "2020-01-06,1,inf\n"  # line 7: not finite
        "2020-01-07,1,2\n"
    )
    result = parse_community_csv(_csv(text))
    assert [(r.row_number, r.error_type) for r in result.rejections] == [
        (3, "BadValue"),
        (4, "Duplicate"),
        (5, "BadDate"),
        (6, "ShortRow"),
        (7, "BadValue"),
    ]
    assert "CapRealUSD 'abc'" in result.rejections[0].reason
    assert "first on line 2" in result.rejections[1].reason
    assert {d for (_, _, d) in _cells(result.table)} == {date(2020, 1, 1), date(2020, 1, 7)}


# --- API JSON ---------------------------------------------------------------------------------------------------


def test_api_page_absent_and_null_metrics_are_no_rows():
    doc = {
        "data": [
            {"asset": "btc", "time": "2020-01-01T00:00:00.000000000Z", "PriceUSD": "7200.17", "HashRate": "1.5e8"},
            {"asset": "eth", "time": "2020-01-01T00:00:00.000000000Z", "PriceUSD": "130.8", "CapRealUSD": None},
            {"asset": "eth", "time": "2020-01-02T00:00:00.000000000Z", "PriceUSD": "127.4", "PriceUSD-status": "x"},
        ],
        "next_page_token": "abc",
        "next_page_url": URL + "&next_page_token=abc",
    }
    result = parse_asset_metrics_json(_page(doc))
    assert result.rejections == []
    assert _cells(result.table) == {
        ("btc", "PriceUSD", date(2020, 1, 1)): 7200.17,
        ("btc", "HashRate", date(2020, 1, 1)): 1.5e8,
        ("eth", "PriceUSD", date(2020, 1, 1)): 130.8,
        ("eth", "PriceUSD", date(2020, 1, 2)): 127.4,
    }
    assert parse_coinmetrics(_page(doc)).table.equals(result.table)


def test_an_empty_page_is_a_valid_answer():
    assert parse_asset_metrics_json(_page({"data": []})).table.num_rows == 0


def test_the_publishers_error_json_is_a_typed_error_with_its_message():
    doc = {"error": {"type": "bad_parameter", "message": "Bad parameter 'metrics'. Value 'Nope' is not supported."}}
    with pytest.raises(NotTabularError) as err:
        parse_asset_metrics_json(_page(doc))
    assert "bad_parameter" in str(err.value) and "'Nope'" in str(err.value)
    assert err.value.location == URL and err.value.dataset == API_DATASET


def test_bad_pages():
    with pytest.raises(SchemaMismatchError, match="no 'data' array"):
        parse_asset_metrics_json(_page({"rows": []}))
    with pytest.raises(TruncatedPayloadError):
        parse_asset_metrics_json(_page(b'{"data":[{"asset":"btc","time":"2020-01-01T00:00:00.000000000Z","Pri'))
    with pytest.raises(NotTabularError, match="HTML"):
        parse_asset_metrics_json(_page(b"<html><body>Service Unavailable</body></html>"))
    with pytest.raises(NotTabularError):
        parse_asset_metrics_json(_page(b"not json at all"))


def test_bad_records_are_reported_with_their_record_numbers():
    doc = {
        "data": [
            {"asset": "btc", "time": "2020-01-01T00:00:00.000000000Z", "PriceUSD": "1"},
            {"asset": "btc", "time": "2020-01-02T00:00:00.000000000Z", "PriceUSD": "n/a?"},
            {"asset": "btc", "time": "2020-01-01T00:00:00.000000000Z", "PriceUSD": "1"},
            {"asset": "btc", "time": "2020-01-04T13:00:00.000000000Z", "PriceUSD": "1"},
            {"time": "2020-01-05T00:00:00.000000000Z", "PriceUSD": "1"},
            ["btc"],
            {"asset": "btc", "time": "2020-01-07T00:00:00.000000000Z", "PriceUSD": True},
        ]
    }
    result = parse_asset_metrics_json(_page(doc))
    assert [(r.row_number, r.error_type) for r in result.rejections] == [
        (2, "BadValue"),
        (3, "Duplicate"),
        (4, "BadDate"),
        (5, "MissingField"),
        (6, "BadRecord"),
        (7, "BadValue"),
    ]
    assert result.table.num_rows == 1


def _is_number(value: float) -> bool:
    return math.isfinite(value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | st.text(alphabet='timedasPriceUSD,-:T0123456789.Z\r\n xé<>"{}[]', max_size=400))
def test_fuzz_csv_only_typed_errors_escape(blob):
    with contextlib.suppress(SourceDataError):
        result = parse_community_csv(_csv(blob if isinstance(blob, bytes) else blob.encode()))
        assert all(_is_number(v) for v in result.table["value"].to_pylist())


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.just(10**400) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_records = st.dictionaries(
    st.sampled_from(["asset", "time", "PriceUSD", "HashRate", "bad key", "x-status"]),
    st.sampled_from(["btc", "2020-01-01T00:00:00.000000000Z", "1.5", "", "NaN", "abc"]) | _json_values,
    max_size=5,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=300)
    | st.builds(lambda d: json.dumps(d).encode(), st.fixed_dictionaries({"data": st.lists(_records, max_size=5)}))
    | st.builds(lambda d: json.dumps(d).encode()[: len(json.dumps(d)) // 2], st.dictionaries(st.text(), _json_values))
)
def test_fuzz_json_only_typed_errors_escape(blob):
    with contextlib.suppress(SourceDataError):
        result = parse_asset_metrics_json(_page(blob))
        assert all(_is_number(v) for v in result.table["value"].to_pylist())
