"""The EIA client's requests, key handling and file discovery, and which series each cadence fetches."""

import logging
from datetime import date

import pytest
from pydantic import SecretStr

from resources.errors import ConfigError
from resources.http import HttpFetcher
from resources.redact import RedactUrlsFilter
from resources.sources.eia.client import EiaClient, file_cadence, payloads_from_files
from resources.sources.eia.ingest import collect_payloads, wanted_routes
from resources.sources.eia.spec import ROUTE_BY_PATH
from resources.universe import default_universe


def test_each_cadence_fetches_the_universes_series_by_route():
    weekly = {r.path: series for r, series in wanted_routes("weekly", default_universe()).items()}
    daily = {r.path: series for r, series in wanted_routes("daily", default_universe()).items()}
    assert weekly == {
        "petroleum/sum/sndw": ["WCESTUS1", "WPULEUS3", "WCRFPUS2", "WCRIMUS2", "WCREXUS2"],
        "natural-gas/stor/wkly": ["NW2_EPG0_SWO_R48_BCF"],
    }
    assert daily == {
        "petroleum/pri/spt": ["RWTC", "RBRTE"],
        "natural-gas/pri/fut": ["RNGWHHD", "RNGC1", "RNGC2", "RNGC3", "RNGC4"],
        "petroleum/pri/fut": ["RCLC1", "RCLC2", "RCLC3", "RCLC4"],
    }


def test_a_page_query_is_eias():
    client = EiaClient(HttpFetcher(source="eia"), "https://api.eia.gov/v2/", SecretStr("k" * 40))
    route = ROUTE_BY_PATH["petroleum/sum/sndw"]
    assert client.url(route) == "https://api.eia.gov/v2/petroleum/sum/sndw/data/"
    params = client.params(route, ["WCESTUS1", "WPULEUS3"], date(2016, 1, 1), date(2024, 6, 28), 5000)
    assert params == {
        "frequency": "weekly",
        "data[0]": "value",
        "facets[series][]": ["WCESTUS1", "WPULEUS3"],
        "start": "2016-01-01",
        "end": "2024-06-28",
        "sort[0][column]": "period",
        "sort[0][direction]": "asc",
        "sort[1][column]": "series",
        "sort[1][direction]": "asc",
        "offset": "5000",
        "length": "5000",
    }
    assert "api_key" not in params  # added only when the request is sent


def test_the_echoed_key_is_masked_and_logged_urls_are_redacted():
    key = "abcdefghij0123456789abcdefghij0123456789"
    client = EiaClient(HttpFetcher(source="eia"), "http://x/v2", SecretStr(key))
    body = b'{"request":{"params":{"api_key":"' + key.encode() + b'"}}}'
    assert client._masked(body) == b'{"request":{"params":{"api_key":"***"}}}'
    record = logging.LogRecord(
        "httpx", logging.INFO, "", 0, 'HTTP Request: GET %s "%s"', (f"http://x?api_key={key}&a=1", "200"), None
    )
    RedactUrlsFilter().filter(record)
    assert key not in record.getMessage() and "api_key=***&a=1" in record.getMessage()


def test_download_files_are_named_after_their_series(tmp_path):
    (tmp_path / "crude.csv").write_text(
        "Weekly U.S. Ending Stocks excluding SPR of Crude Oil\n"
        "https://www.eia.gov/dnav/pet/hist/LeafHandler.ashx?n=PET&s=WCESTUS1&f=W\n"
        "t\ns\nWeek of,Stocks Thousand Barrels\n08/30/2024,1"
    )
    (tmp_path / "hh.csv").write_text("Henry Hub\nhttp://www.eia.gov/dnav/ng/hist/rngwhhdd.htm\nt\ns\nDay,HH Dollars\n")
    (tmp_path / "mystery.csv").write_text("no preamble at all")
    payloads = {p.dataset: p for p in payloads_from_files([tmp_path])}
    assert set(payloads) == {"WCESTUS1", "RNGWHHD", "mystery"}
    assert [file_cadence(payloads[k]) for k in ("WCESTUS1", "RNGWHHD", "mystery")] == ["weekly", "daily", None]


def test_live_mode_needs_a_key(settings, monkeypatch):
    monkeypatch.setattr(settings, "source_mode", "live")
    with pytest.raises(ConfigError, match="EIA_API_KEY"):
        collect_payloads(settings, ("weekly",), start=None, end=date(2024, 1, 5))


def test_files_mode_without_files_says_so(settings, tmp_path):
    with pytest.raises(FileNotFoundError, match="no EIA download CSV"):
        collect_payloads(settings, ("weekly", "daily"), start=None, end=None, files=[tmp_path])
