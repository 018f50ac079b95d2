"""Live contract tests: the source clients and parsers against answers in each publisher's documented shape.

A small server on 127.0.0.1 serves the fixtures of tests/fixtures/publisher_responses.py (each cites its
documentation page). Per publisher: a data answer read through the shipped client and parser, an error body
that ends in a typed error naming the publisher's own message, and a paging edge case.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from resources.errors import EmptyPayloadError, NotTabularError, SourceDataError, SourceUnavailableError
from resources.http import HttpFetcher, RetryPolicy
from resources.sources.cboe.client import CboeClient
from resources.sources.cboe.parser import parse_cboe_csv
from resources.sources.coinmetrics.client import CoinMetricsClient
from resources.sources.coinmetrics.parser import parse_asset_metrics_json
from resources.sources.cot.client import CotApiClient
from resources.sources.eia.client import EiaClient
from resources.sources.eia.parser import parse_weekly_series
from resources.sources.eia.spec import ROUTE_BY_PATH
from resources.sources.fred.api_parser import parse_observations
from resources.sources.fred.client import FredClient
from tests.fixtures import publisher_responses as fx

Query = dict[str, list[str]]


@dataclass
class Route:
    path: str
    when: Callable[[Query], bool]
    status: int
    body: bytes
    content_type: str = "application/json"


@dataclass
class Fixtures:
    routes: list[Route] = field(default_factory=list)
    seen: list[tuple[str, Query]] = field(default_factory=list)

    def add(self, path: str, body: bytes, *, status: int = 200, when=lambda q: True, content_type="application/json"):
        self.routes.append(Route(path, when, status, body, content_type))


@contextmanager
def serve(fixtures: Fixtures) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            return

        def do_GET(self) -> None:
            split = urlsplit(self.path)
            query = parse_qs(split.query, keep_blank_values=True)
            fixtures.seen.append((split.path, query))
            route = next((r for r in fixtures.routes if r.path == split.path and r.when(query)), None)
            status, body, kind = (route.status, route.body, route.content_type) if route else (404, b"", "text/plain")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _fetcher(source: str) -> HttpFetcher:
    return HttpFetcher(source=source, timeout_s=2.0, policy=RetryPolicy(2, 0.01, 0.05, 10.0))


def _offset(n: int) -> Callable[[Query], bool]:
    return lambda q: q.get("offset", ["0"])[0] == str(n)


# FRED ----------------------------------------------------------------------------------------------------------


def test_fred_vintages_page_by_count_and_parse_with_their_realtime_periods():
    fixtures = Fixtures()
    fixtures.add("/fred/series/observations", fx.as_json(fx.FRED_OBSERVATIONS_JSON), when=_offset(0))
    fixtures.add("/fred/series/observations", fx.as_json(fx.FRED_OBSERVATIONS_JSON_LAST), when=_offset(2))
    with serve(fixtures) as url, _fetcher("fred") as fetcher:
        client = FredClient(fetcher, f"{url}/fred", SecretStr("k" * 32), page_size=2, file_type="json")
        pages = client.observations("DTWEXBGS", start=date(2024, 1, 2), end=date(2024, 1, 31))
    assert len(pages) == 2  # count 3, limit 2: a second page, then done (FRED's own count, not a short page)
    rows = [r for p in pages for r in parse_observations(p).table.to_pylist()]
    assert [(r["observation_date"], r["realtime_start"], r["value"]) for r in rows] == [
        (date(2024, 1, 2), date(2024, 1, 3), 118.9),
        (date(2024, 1, 2), date(2024, 1, 10), 119.1),
        (date(2024, 1, 3), date(2024, 1, 10), None),  # '.' is missing
    ]
    query = fixtures.seen[0][1]
    assert query["realtime_start"] == ["1776-07-04"] and query["realtime_end"] == ["2024-01-31"]


def test_fred_error_body_is_a_typed_error_with_fred_message():
    fixtures = Fixtures()
    fixtures.add("/fred/series/observations", fx.as_json(fx.FRED_ERROR_JSON), status=400)
    with serve(fixtures) as url, _fetcher("fred") as fetcher, pytest.raises(SourceUnavailableError) as err:
        FredClient(fetcher, f"{url}/fred", SecretStr("k" * 32), file_type="json").observations(
            "NOPE", start=None, end=date(2024, 1, 31)
        )
    assert "HTTP 400: Bad Request.  The series does not exist." in str(err.value) and err.value.dataset == "NOPE"
    assert len(fixtures.seen) == 1  # a 400 is not retried


# EIA -----------------------------------------------------------------------------------------------------------

SNDW = ROUTE_BY_PATH["petroleum/sum/sndw"]


def test_eia_total_as_a_string_and_warnings_page_to_the_end():
    """`total` "3" with 2 rows on the first page: a second page at offset 2, then an empty page ends nothing more."""
    last = {
        **fx.EIA_DATA_PAGE,
        "response": {**fx.EIA_DATA_PAGE["response"], "data": fx.EIA_DATA_PAGE["response"]["data"][:1]},
    }
    last["response"]["data"] = [{**last["response"]["data"][0], "period": "2024-06-28", "value": "460100"}]
    fixtures = Fixtures()
    fixtures.add("/v2/petroleum/sum/sndw/data/", fx.as_json(fx.EIA_DATA_PAGE), when=_offset(0))
    fixtures.add("/v2/petroleum/sum/sndw/data/", fx.as_json(last), when=_offset(2))
    with serve(fixtures) as url, _fetcher("eia") as fetcher:
        client = EiaClient(fetcher, f"{url}/v2", SecretStr("eia-key-123456"), page_size=2)
        pages = client.fetch(SNDW, ["WCESTUS1"], date(2024, 6, 1), date(2024, 6, 30))
    assert len(pages) == 2 and [q["offset"] for _, q in fixtures.seen] == [["0"], ["2"]]
    rows = [r for p in pages for r in parse_weekly_series(p).table.to_pylist()]
    assert [(r["period"], r["value"]) for r in rows] == [
        (date(2024, 6, 14), 457122.0),
        (date(2024, 6, 21), 459652.0),
        (date(2024, 6, 28), 460100.0),
    ]
    assert all(b"eia-key-123456" not in p.data for p in pages)


def test_eia_key_refusal_is_a_typed_error_with_eia_code():
    fixtures = Fixtures()
    fixtures.add("/v2/petroleum/sum/sndw/data/", fx.as_json(fx.EIA_ERROR), status=403)
    with serve(fixtures) as url, _fetcher("eia") as fetcher, pytest.raises(SourceUnavailableError) as err:
        EiaClient(fetcher, f"{url}/v2", SecretStr("eia-key-123456")).fetch(SNDW, ["WCESTUS1"], None, None)
    assert "HTTP 403" in str(err.value) and "API_KEY_INVALID" in str(err.value) and len(fixtures.seen) == 1


# COT (Socrata) -------------------------------------------------------------------------------------------------


def test_socrata_last_page_exactly_full_asks_once_more_and_stops_on_the_empty_array():
    """SODA paging with $limit/$offset (https://dev.socrata.com/docs/paging.html): rows are a JSON array of objects
    (https://dev.socrata.com/docs/formats/json.html) and a page past the end is `[]`."""
    full = [
        {"report_date_as_yyyy_mm_dd": f"2024-01-0{d}T00:00:00.000", "cftc_contract_market_code": "13874A"}
        for d in (2, 9)
    ]
    fixtures = Fixtures()
    page = lambda n: lambda q: q.get("$offset") == [str(n)]  # noqa: E731
    fixtures.add("/resource/6dca-aqww.json", fx.as_json(full), when=page(0))
    fixtures.add("/resource/6dca-aqww.json", b"[]\n", when=page(2))
    with serve(fixtures) as url, _fetcher("cot") as fetcher:
        pages = CotApiClient(fetcher, url, page_size=2).fetch("legacy", ["13874A"], start=date(2024, 1, 1))
    assert [p.data for p in pages] == [fx.as_json(full), b"[]\n"] and len(fixtures.seen) == 2
    assert "$where" in fixtures.seen[0][1] and fixtures.seen[0][1]["$limit"] == ["2"]


def test_socrata_error_body_is_a_typed_error_with_its_message():
    fixtures = Fixtures()
    fixtures.add("/resource/6dca-aqww.json", fx.as_json(fx.SOCRATA_ERROR), status=400)
    with serve(fixtures) as url, _fetcher("cot") as fetcher, pytest.raises(SourceUnavailableError) as err:
        CotApiClient(fetcher, url).fetch("legacy", ["13874A"])
    assert "HTTP 400" in str(err.value) and "No such column" in str(err.value) and len(fixtures.seen) == 1


# Coin Metrics --------------------------------------------------------------------------------------------------


def test_coinmetrics_follows_next_page_url_until_it_is_absent():
    fixtures = Fixtures()
    with serve(fixtures) as url:
        first = {**fx.COINMETRICS_PAGE, "next_page_url": fx.COINMETRICS_PAGE["next_page_url"].format(base=f"{url}/v4")}
        fixtures.add("/v4/timeseries/asset-metrics", fx.as_json(first), when=lambda q: "next_page_token" not in q)
        fixtures.add(
            "/v4/timeseries/asset-metrics", fx.as_json(fx.COINMETRICS_LAST_PAGE), when=lambda q: "next_page_token" in q
        )
        with _fetcher("coinmetrics") as fetcher:
            pages = CoinMetricsClient(fetcher, f"{url}/v4", page_size=2).fetch(
                ["btc"], ["PriceUSD", "CapMVRVCur"], start=date(2024, 1, 1), end=date(2024, 1, 3)
            )
    assert len(pages) == 2 and fixtures.seen[1][1]["next_page_token"] == ["MjAyNC0wMS0wMlQwMDowMDowMFo"]
    rows = [r for p in pages for r in parse_asset_metrics_json(p).table.to_pylist()]
    prices = sorted((r["observed_date"], r["value"]) for r in rows if r["metric"] == "PriceUSD")
    assert prices == [(date(2024, 1, 1), 42280.2345), (date(2024, 1, 2), 44945.0122), (date(2024, 1, 3), 42848.1)]


def test_coinmetrics_error_envelope_is_a_typed_error_with_its_message():
    fixtures = Fixtures()
    fixtures.add("/v4/timeseries/asset-metrics", fx.as_json(fx.COINMETRICS_ERROR), status=400)
    with serve(fixtures) as url, _fetcher("coinmetrics") as fetcher, pytest.raises(SourceUnavailableError) as err:
        CoinMetricsClient(fetcher, f"{url}/v4").fetch(["btc"], ["Nope"])
    assert "bad_parameter" in str(err.value) and "is not supported" in str(err.value) and len(fixtures.seen) == 1


def test_coinmetrics_error_envelope_with_200_is_not_taken_for_data():
    fixtures = Fixtures()
    fixtures.add("/v4/timeseries/asset-metrics", fx.as_json(fx.COINMETRICS_ERROR))
    with serve(fixtures) as url, _fetcher("coinmetrics") as fetcher:
        (page,) = CoinMetricsClient(fetcher, f"{url}/v4").fetch(["btc"], ["PriceUSD"])
    with pytest.raises(SourceDataError, match=r"bad_parameter|is not supported|error"):
        parse_asset_metrics_json(page)


# Cboe ----------------------------------------------------------------------------------------------------------

VIX = "/api/global/us_indices/daily_prices/VIX_History.csv"


def test_cboe_history_csv_parses_and_a_header_only_file_is_empty():
    fixtures = Fixtures()
    fixtures.add(VIX, fx.CBOE_VIX_CSV.encode(), content_type="text/csv")
    fixtures.add(
        "/api/global/us_indices/daily_prices/VVIX_History.csv", b"DATE,OPEN,HIGH,LOW,CLOSE\r\n", content_type="text/csv"
    )
    with serve(fixtures) as url, _fetcher("cboe") as fetcher:
        vix, vvix = CboeClient(fetcher, url).fetch(["VIX", "VVIX"])
    rows = parse_cboe_csv(vix).table.to_pylist()
    assert [(r["observed_date"], r["close"]) for r in rows] == [(date(2024, 1, 2), 13.20), (date(2024, 1, 3), 14.04)]
    with pytest.raises((EmptyPayloadError, NotTabularError)):
        parse_cboe_csv(vvix)


def test_cboe_cdn_refusal_is_a_typed_error():
    fixtures = Fixtures()
    fixtures.add(VIX, fx.CBOE_MISSING.encode(), status=403, content_type="application/xml")
    with serve(fixtures) as url, _fetcher("cboe") as fetcher, pytest.raises(SourceUnavailableError) as err:
        CboeClient(fetcher, url).fetch(["VIX"])
    assert "HTTP 403" in str(err.value) and "AccessDenied" in str(err.value) and err.value.dataset == "VIX"
