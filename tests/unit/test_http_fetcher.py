"""Retries against a real local HTTP server with injected faults."""

import time
from datetime import date

import pytest

from resources.errors import SourceUnavailableError
from resources.http import HttpFetcher, RetryPolicy, parse_retry_after
from resources.simulated.publisher import SimulatedPublisher
from resources.simulated.server import Fault, FaultPlan, serve_publisher

PATH = "/api/global/us_indices/daily_prices/VIX_History.csv"


@pytest.fixture(autouse=True, scope="module")
def _warm_world():
    """Build the simulated world before timing-sensitive requests (about 2 s once per process)."""
    from resources.simulated.cboe import history_csv

    history_csv(7, "VIX", date(2024, 1, 31))


def _fetcher(attempts: int = 4) -> HttpFetcher:
    return HttpFetcher(source="cboe", timeout_s=1.0, policy=RetryPolicy(attempts, 0.01, 2.0))


def test_429_waits_what_retry_after_asks():
    plan = FaultPlan([Fault("retry_after", PATH, times=1, status=429, retry_after="1")])
    with serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url, _fetcher() as fetcher:
        started = time.perf_counter()
        response = fetcher.get(url + PATH)
        waited = time.perf_counter() - started
    assert response.status_code == 200
    assert waited >= 0.95
    assert len(plan.requests) == 2


def test_5xx_and_timeouts_are_retried_then_succeed():
    plan = FaultPlan([Fault("status", PATH, times=2, status=503), Fault("timeout", PATH, times=1, delay_s=1.5)])
    with serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url, _fetcher(5) as fetcher:
        response = fetcher.get(url + PATH)
    assert response.status_code == 200
    assert response.content.startswith(b"DATE,OPEN,HIGH,LOW,CLOSE")
    assert len(plan.requests) == 4


def test_truncated_body_is_retried():
    plan = FaultPlan([Fault("truncate", PATH, times=1)])
    with serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url, _fetcher() as fetcher:
        response = fetcher.get(url + PATH)
    assert response.content.endswith(b"\n") and len(plan.requests) == 2


def test_gives_up_with_a_typed_error_naming_source_and_url():
    plan = FaultPlan([Fault("status", PATH, times=10, status=500)])
    with (
        serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url,
        _fetcher(3) as fetcher,
        pytest.raises(SourceUnavailableError) as err,
    ):
        fetcher.get(url + PATH + "?api_key=topsecret", dataset="VIX")
    assert err.value.source == "cboe" and err.value.dataset == "VIX"
    assert "HTTP 500 after 3 attempts" in str(err.value)
    assert "topsecret" not in str(err.value)
    assert len(plan.requests) == 3


def test_other_4xx_is_not_retried():
    with serve_publisher(SimulatedPublisher(7, date(2024, 1, 31))) as url, _fetcher() as fetcher:
        with pytest.raises(SourceUnavailableError, match="HTTP 404"):
            fetcher.get(url + "/api/global/us_indices/daily_prices/NOPE_History.csv")
        assert fetcher.attempts == 1


def test_retry_after_parsing():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
