"""The Coin Metrics client's paging decisions and file discovery, without a server."""

import json
from datetime import date

import pytest

from resources.http import HttpFetcher
from resources.sources.coinmetrics.client import CoinMetricsClient, is_community_csv, payloads_from_files

BASE = "http://127.0.0.1:5000/v4"


def _client() -> CoinMetricsClient:
    return CoinMetricsClient(HttpFetcher(source="coinmetrics"), BASE, page_size=100)


def _next(doc: object) -> tuple | None:
    client = _client()
    base = client.params(["btc", "eth"], ["PriceUSD"], date(2020, 1, 1), None)
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return client._next(body, base)


def test_request_parameters():
    params = _client().params(["btc", "eth"], ["PriceUSD", "HashRate"], date(2020, 1, 1), date(2020, 2, 1))
    assert params == {
        "assets": "btc,eth",
        "metrics": "PriceUSD,HashRate",
        "frequency": "1d",
        "page_size": "100",
        "paging_from": "start",
        "ignore_unsupported_errors": "true",
        "ignore_forbidden_errors": "true",
        "start_time": "2020-01-01",
        "end_time": "2020-02-01",
    }


def test_next_page_url_on_our_endpoint_is_followed_as_is():
    url = BASE + "/timeseries/asset-metrics?assets=btc&next_page_token=abc"
    assert _next({"data": [], "next_page_url": url, "next_page_token": "abc"}) == (url, None)


def test_a_foreign_next_page_url_is_replaced_by_its_token_on_our_endpoint():
    url, params = _next(
        {"data": [], "next_page_url": "https://elsewhere.example/v4/timeseries/asset-metrics?next_page_token=xyz"}
    )
    assert url == BASE + "/timeseries/asset-metrics"
    assert params["next_page_token"] == "xyz" and params["assets"] == "btc,eth"


@pytest.mark.parametrize("body", [{"data": []}, b"<html></html>", b"", {"error": {"type": "x"}}, [1, 2]])
def test_the_last_page_or_an_unreadable_one_ends_the_paging(body):
    assert _next(body) is None


def test_only_community_files_are_picked_up_from_folders(tmp_path):
    for name in ("btc.csv", "eth.csv", "DGS10.csv", "VIX_History.csv", "notes.txt"):
        (tmp_path / name).write_text("time,PriceUSD\n2020-01-01,1\n")
    assert is_community_csv(tmp_path / "btc.csv") and not is_community_csv(tmp_path / "DGS10.csv")
    assert sorted(p.dataset for p in payloads_from_files([tmp_path])) == ["btc", "eth"]
    # a file named explicitly is read whatever its name
    assert [p.dataset for p in payloads_from_files([tmp_path / "DGS10.csv"])] == ["dgs10"]
