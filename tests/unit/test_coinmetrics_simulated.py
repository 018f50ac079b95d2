"""The simulated Coin Metrics publisher speaks API v4 exactly: strings, nanosecond times, paging, errors."""

import base64
import json
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from resources.simulated.coinmetrics import history, restatements, served_strings, write_files
from resources.simulated.publisher import Request, SimulatedPublisher
from resources.simulated.world import world_for
from resources.sources.coinmetrics.parser import parse_community_csv
from resources.sources.files import payload_from_file

PATH = "/v4/timeseries/asset-metrics"
AS_OF = date(2024, 3, 31)


def _get(as_of: date = AS_OF, **params: str):
    app = SimulatedPublisher(7, as_of)
    request = Request("GET", PATH, {k: [v] for k, v in params.items()}, {"host": "127.0.0.1:9"})
    response = app.handle(request)
    return response.status, json.loads(response.body), response


def _all_pages(**params: str) -> tuple[list[dict], int]:
    rows, pages, token = [], 0, None
    while True:
        extra = {"next_page_token": token} if token else {}
        status, body, _ = _get(**params, **extra)
        assert status == 200
        rows += body["data"]
        pages += 1
        token = body.get("next_page_token")
        if not token:
            return rows, pages
        query = parse_qs(urlsplit(body["next_page_url"]).query)
        assert query["next_page_token"] == [token] and query["assets"] == [params["assets"]]


def test_wire_format_matches_the_api():
    status, body, response = _get(
        assets="btc,eth", metrics="PriceUSD,HashRate", start_time="2024-03-01", page_size="3", paging_from="start"
    )
    assert status == 200 and response.content_type == "application/json"
    first = body["data"][0]
    assert first == {
        "asset": "btc",
        "time": "2024-03-01T00:00:00.000000000Z",
        "PriceUSD": first["PriceUSD"],
        "HashRate": first["HashRate"],
    }
    assert isinstance(first["PriceUSD"], str) and "e" not in first["PriceUSD"].lower()
    # the public host, as Coin Metrics writes it, whatever host served the request
    assert body["next_page_url"].startswith("https://community-api.coinmetrics.io/v4/timeseries/asset-metrics?")
    assert base64.urlsafe_b64decode(body["next_page_token"] + "==").decode() == "2024-03-04|btc"


def test_eth_rows_lack_hashrate_and_a_metric_no_asset_publishes_is_an_error():
    rows, _ = _all_pages(
        assets="btc,eth", metrics="PriceUSD,HashRate", start_time="2024-03-25", page_size="4", paging_from="start"
    )
    assert {tuple(sorted(r)) for r in rows if r["asset"] == "eth"} == {("PriceUSD", "asset", "time")}
    assert {tuple(sorted(r)) for r in rows if r["asset"] == "btc"} == {("HashRate", "PriceUSD", "asset", "time")}
    status, body, _ = _get(assets="eth", metrics="HashRate")
    assert status == 400 and body["error"]["type"] == "bad_parameter"
    assert "'HashRate'" in body["error"]["message"] and "'eth'" in body["error"]["message"]
    status, body, _ = _get(assets="eth", metrics="HashRate", ignore_unsupported_errors="true")
    assert (status, body) == (200, {"data": []})
    status, body, _ = _get(assets="btc,doge", metrics="PriceUSD")
    assert status == 400 and "Value 'doge' is not supported" in body["error"]["message"]


def test_paging_from_start_and_end_give_the_same_rows():
    params = {"assets": "btc,eth", "metrics": "PriceUSD,CapMVRVCur", "start_time": "2024-01-01", "page_size": "7"}
    forward, pages = _all_pages(**params, paging_from="start")
    backward, _ = _all_pages(**params)  # paging_from defaults to end: newest page first
    assert pages == -(-len(forward) // 7) and len(forward) == 2 * (AS_OF - date(2024, 1, 1)).days
    key = lambda r: (r["asset"], r["time"])  # noqa: E731
    assert sorted(backward, key=key) == forward
    assert [key(r) for r in forward] == sorted(key(r) for r in forward)


def test_time_filters_are_inclusive_and_the_as_of_day_is_not_published_yet():
    _, body, _ = _get(assets="btc", metrics="PriceUSD", start_time="2024-03-28", end_time="2024-03-29T00:00:00Z")
    assert [r["time"][:10] for r in body["data"]] == ["2024-03-28", "2024-03-29"]
    _, body, _ = _get(assets="btc", metrics="PriceUSD", start_time="2024-03-28", paging_from="start")
    assert body["data"][-1]["time"][:10] == (AS_OF - timedelta(days=1)).isoformat()
    status, body, _ = _get(assets="btc", metrics="PriceUSD", start_time="March")
    assert status == 400 and "Incorrect time format 'March'" in body["error"]["message"]
    status, body, _ = _get(assets="btc", metrics="PriceUSD", page_size="10001")
    assert status == 400 and body["error"]["message"] == "Bad parameter 'page_size'. Must be at most 10000."


def test_values_for_a_date_do_not_depend_on_range_or_as_of_except_restatements():
    early = served_strings(7, "btc", date(2023, 6, 30))
    late = served_strings(7, "btc", date(2024, 6, 30))
    restated = {pd.Timestamp(e.observed) for e in restatements(7, "btc") if date(2023, 6, 30) < e.effective}
    common = early.index.difference(pd.DatetimeIndex(sorted(restated)))
    pd.testing.assert_frame_equal(early.loc[common], late.loc[common])
    changed = [d for d in restated if d in early.index]
    assert changed, "some already-published realized caps are restated within the year"
    for day in changed:
        assert early.at[day, "CapRealUSD"] != late.at[day, "CapRealUSD"]
        assert early.at[day, "PriceUSD"] == late.at[day, "PriceUSD"]
    _, narrow, _ = _get(
        as_of=date(2024, 6, 30), assets="btc", metrics="CapRealUSD", start_time="2023-06-01", end_time="2023-06-03"
    )
    assert [r["CapRealUSD"] for r in narrow["data"]] == list(late.loc["2023-06-01":"2023-06-03", "CapRealUSD"])


def test_restatements_keep_mvrv_consistent_with_the_caps():
    frame = history(7, "btc", date(2025, 12, 31))
    ratio = frame["CapMrktCurUSD"] / frame["CapRealUSD"]
    assert (ratio / frame["CapMVRVCur"] - 1).abs().max() < 1e-9
    assert frame.index.max() == pd.Timestamp("2025-12-30")
    world = world_for(7).crypto
    assert frame["PriceUSD"].equals(world.loc[frame.index, "BTC_PriceUSD"].rename("PriceUSD"))


def test_write_files_writes_the_community_csvs(tmp_path):
    paths = write_files(tmp_path, 7, date(2020, 12, 31))
    assert [p.name for p in paths] == ["btc.csv", "eth.csv"]
    header = paths[1].read_text().splitlines()[0].split(",")
    assert header[0] == "time" and "HashRate" not in header and header[1:] == sorted(header[1:])
    result = parse_community_csv(payload_from_file(paths[0], source="coinmetrics", dataset="btc"))
    assert result.rejections == []
    days = result.table["observed_date"].to_pylist()
    assert (min(days), max(days)) == (date(2010, 7, 18), date(2020, 12, 30))


@pytest.mark.parametrize("null_as_zero", ["true", "false"])
def test_missing_values_are_null_or_zero(null_as_zero):
    _, body, _ = _get(
        assets="btc",
        metrics="PriceUSD,VtyDayRet30d",
        start_time="2010-07-18",
        end_time="2010-07-19",
        null_as_zero=null_as_zero,
    )
    assert [r["VtyDayRet30d"] for r in body["data"]] == (["0", "0"] if null_as_zero == "true" else [None, None])


def test_scaled_files_hold_n_assets_each_distinct_in_bronze(tmp_path):
    """The scale parameter: `assets` files over the last `years`; replicas differ in bytes (bronze dedups by hash)."""
    from resources.simulated.coinmetrics import write_scaled_files

    paths = write_scaled_files(tmp_path, 7, date(2020, 12, 31), assets=5, years=1)
    assert [p.name for p in paths] == ["btc.csv", "eth.csv", "btcx2.csv", "ethx2.csv", "btcx3.csv"]
    assert len({p.read_bytes() for p in paths}) == 5
    days = [line[:10] for line in paths[2].read_text().splitlines()[1:]]
    assert days[0] == "2020-01-01" and days[-1] == "2020-12-30" and len(days) == 365
