"""Retries against a real local HTTP server with injected faults."""

import time
from datetime import date

import pytest

from resources.errors import SourceDataError, SourceUnavailableError, TruncatedPayloadError
from resources.http import HttpFetcher, RetryPolicy, parse_retry_after
from resources.settings import get_settings
from resources.simulated.publisher import SimulatedPublisher
from resources.simulated.server import Fault, FaultPlan, serve_publisher

PATH = "/api/global/us_indices/daily_prices/VIX_History.csv"


@pytest.fixture(autouse=True, scope="module")
def _warm_world():
    """Build the simulated world before timing-sensitive requests (about 2 s once per process)."""
    from resources.simulated.cboe import history_csv

    history_csv(7, "VIX", date(2024, 1, 31))


def _fetcher(attempts: int = 4) -> HttpFetcher:
    """2.5 s per read: the local publisher takes 0.6-0.8 s to serve VIX history on the shared 2-core machine."""
    return HttpFetcher(source="cboe", timeout_s=2.5, policy=RetryPolicy(attempts, 0.01, 2.0))


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
    plan = FaultPlan([Fault("status", PATH, times=2, status=503), Fault("timeout", PATH, times=1)])
    with serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url, _fetcher(5) as fetcher:
        response = fetcher.get(url + PATH)
    assert response.status_code == 200
    assert response.content.startswith(b"DATE,OPEN,HIGH,LOW,CLOSE")
    assert len(plan.requests) == 4


def test_a_stalled_answer_waits_for_the_client_to_give_up_not_for_a_clock():
    """The timeout fault holds its answer until the client disconnects: no fixed delay the answer could beat."""
    plan = FaultPlan([Fault("timeout", PATH, times=1)])
    with (
        serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url,
        HttpFetcher(source="cboe", timeout_s=0.5, policy=RetryPolicy(1, 0.01, 0.1)) as fetcher,
        pytest.raises(SourceUnavailableError, match=r"(?i)timeout|timed out"),
    ):
        started = time.perf_counter()
        try:
            fetcher.get(url + PATH)
        finally:
            assert time.perf_counter() - started < 5  # the client's 0.5 s, not the fault's 30 s limit


def test_a_stalled_answer_reaches_a_client_still_waiting_after_the_limit():
    """A client whose timeout never fires gets the answer late, once: caught by request counts, not a hung test."""
    plan = FaultPlan([Fault("timeout", PATH, times=1, delay_s=0.3)])
    with (
        serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url,
        HttpFetcher(source="cboe", timeout_s=60, policy=RetryPolicy(1, 0.01, 0.1)) as fetcher,
    ):
        started = time.perf_counter()
        response = fetcher.get(url + PATH)
        waited = time.perf_counter() - started
    assert response.status_code == 200 and response.content.startswith(b"DATE,OPEN,HIGH,LOW,CLOSE")
    assert waited >= 0.3 and len(plan.requests) == 1


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


def test_a_trickling_body_cannot_outlast_the_total_deadline():
    """10 bytes every 1.5 s never trips a 2 s read timeout; the 4 s deadline for the whole request still holds."""
    plan = FaultPlan([Fault("trickle", PATH, times=10, delay_s=1.5)])
    policy = RetryPolicy(max_attempts=3, backoff_s=0.01, max_backoff_s=0.1, deadline_s=4.0)
    with (
        serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url,
        HttpFetcher(source="cboe", timeout_s=2.0, policy=policy) as fetcher,
    ):
        started = time.perf_counter()
        with pytest.raises(SourceUnavailableError, match="total deadline exceeded") as err:
            fetcher.get(url + PATH, dataset="VIX")
        took = time.perf_counter() - started
    assert 3.9 <= took < 4.0 + 1.6  # at most one last piece past the deadline, never another attempt's worth
    assert err.value.source == "cboe" and err.value.dataset == "VIX"


def test_a_body_short_of_its_content_length_is_a_truncated_payload_once_retries_run_out():
    plan = FaultPlan([Fault("truncate", PATH, times=5)])
    with (
        serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url,
        _fetcher(3) as fetcher,
        pytest.raises(TruncatedPayloadError, match=r"body cut short: \d+ of \d+ bytes after 3 attempts") as err,
    ):
        fetcher.get(url + PATH, dataset="VIX")
    assert err.value.source == "cboe" and len(plan.requests) == 3


def test_injected_503s_recover_and_a_parse_error_is_not_retried(storage, monkeypatch):
    """Transient faults go through the retry policy; a body that does not parse fails at once, fetched once."""
    from resources.sources.cboe.client import CboeClient
    from resources.sources.cboe.ingest import ingest_cboe

    plan = FaultPlan([Fault("status", "VIX_History", times=2, status=503)])
    with serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url, _fetcher() as fetcher:
        (payload,) = CboeClient(fetcher, url).fetch(["VIX"])
    assert payload.data.startswith(b"DATE,OPEN") and len(plan.requests) == 3

    garbage = FaultPlan([Fault("body", "VIX_History", times=5, body=b"DATE,OPEN,HIGH\n2024-01-02,abc\n")])
    with serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), garbage) as url:
        monkeypatch.setenv("NEXUS_SOURCE_MODE", "live")
        monkeypatch.setenv("NEXUS_CBOE_BASE_URL", url)
        get_settings.cache_clear()
        with pytest.raises(SourceDataError):
            ingest_cboe(storage, get_settings(), run_id="parse", end=date(2024, 1, 31), symbols=["VIX"])
    assert garbage.requests == ["/api/global/us_indices/daily_prices/VIX_History.csv"]


def test_secrets_sent_are_masked_in_refusals_and_in_bodies():
    key, token = "EIAkey0123456789abcdef", "cftcAppToken-42xyz"
    echo = f'{{"code":"invalid_request","error":true,"message":"bad api_key {key} / token {token}"}}'.encode()
    plan = FaultPlan(
        [
            Fault("status", PATH, times=1, status=403, body=echo),
            Fault("body", PATH, times=1, body=b'{"request":{"params":{"api_key":"' + key.encode() + b'"}}}'),
        ]
    )
    with (
        serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url,
        HttpFetcher(source="eia", timeout_s=2.5, headers={"X-App-Token": token}) as fetcher,
    ):
        with pytest.raises(SourceUnavailableError) as err:
            fetcher.get(url + PATH, {"api_key": key})
        body = fetcher.get(url + PATH, {"api_key": key}).content
    assert "HTTP 403" in str(err.value) and "bad api_key *** / token ***" in str(err.value)
    assert key not in str(err.value) + repr(err.value.body) and token not in str(err.value)
    assert body == b'{"request":{"params":{"api_key":"***"}}}'


def test_a_chunked_body_cut_before_its_last_chunk_is_truncated_not_loaded():
    """No Content-Length to compare with: the missing terminating chunk is what shows the cut."""
    plan = FaultPlan([Fault("chunked_cut", PATH, times=5)])
    with (
        serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url,
        _fetcher(2) as fetcher,
        pytest.raises(TruncatedPayloadError, match="body cut short") as err,
    ):
        fetcher.get(url + PATH, dataset="VIX")
    assert err.value.dataset == "VIX" and len(plan.requests) == 2


def test_a_live_ingest_against_a_trickling_publisher_ends_at_the_configured_deadline(storage, monkeypatch):
    """The shipped path: `nexus ingest cboe` settings, NEXUS_HTTP_DEADLINE_S bounding the whole fetch."""
    from resources.sources.cboe.ingest import ingest_cboe

    plan = FaultPlan([Fault("trickle", "VIX_History", times=10, delay_s=1.0)])
    with serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url:
        for name, value in {
            "NEXUS_SOURCE_MODE": "live",
            "NEXUS_CBOE_BASE_URL": url,
            "NEXUS_HTTP_TIMEOUT_S": "2",
            "NEXUS_HTTP_DEADLINE_S": "3",
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        started = time.perf_counter()
        with pytest.raises(SourceUnavailableError, match="total deadline exceeded"):
            ingest_cboe(storage, get_settings(), run_id="trickle", end=date(2024, 1, 31), symbols=["VIX"])
        took = time.perf_counter() - started
    assert took < 3.0 + 1.5


def test_a_series_whose_body_stays_cut_does_not_stop_the_others(storage, monkeypatch):
    """FRED goes on with the other series when one is unavailable; a body that stays cut is such a case."""
    from resources.lake.delta import read_table
    from resources.sources.fred.ingest import ingest_fred
    from resources.sources.fred.spec import OBSERVATIONS, SIMULATED_API_KEY

    plan = FaultPlan([Fault("chunked_cut", "/fred/series/observations", times=3)])
    with serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url:
        for name, value in {
            "NEXUS_SOURCE_MODE": "live",
            "NEXUS_FRED_BASE_URL": f"{url}/fred",
            "FRED_API_KEY": SIMULATED_API_KEY,
            "NEXUS_HTTP_MAX_ATTEMPTS": "3",
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        with pytest.raises(TruncatedPayloadError) as err:
            ingest_fred(
                storage,
                get_settings(),
                run_id="cut",
                start=date(2024, 1, 2),
                end=date(2024, 1, 31),
                series=("SP500", "DGS10"),
            )
    assert isinstance(err.value, SourceUnavailableError) and err.value.dataset == "SP500"
    assert set(read_table(storage, OBSERVATIONS).column("series_id").to_pylist()) == {"DGS10"}


def test_exhausted_faults_are_what_the_step_retry_policy_calls_transient():
    """assets/retries.py retries a step only for exhausted retryable faults; a deadline hit on the first
    attempt is one, a refusal is not."""
    from assets.retries import is_transient

    plan = FaultPlan([Fault("trickle", PATH, times=10, delay_s=1.0), Fault("status", "NOPE", times=9, status=404)])
    policy = RetryPolicy(max_attempts=3, backoff_s=0.01, max_backoff_s=0.1, deadline_s=1.5)
    with (
        serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url,
        HttpFetcher(source="cboe", timeout_s=2.0, policy=policy) as fetcher,
    ):
        with pytest.raises(SourceUnavailableError) as slow:
            fetcher.get(url + PATH)
        with pytest.raises(SourceUnavailableError) as refused:
            fetcher.get(url + "/NOPE_History.csv")
    assert "after 1 attempts" in str(slow.value) and is_transient(slow.value)
    assert not is_transient(refused.value)


@pytest.mark.parametrize("fault", ["chunked_cut", "truncate"], ids=["no-content-length", "short-of-content-length"])
def test_a_body_that_stays_cut_is_kept_in_bronze_with_a_quarantine_row_pointing_to_it(storage, monkeypatch, fault):
    """Raw payloads are kept byte for byte, cut ones too: the live ingest rejects the body and bronzes its bytes."""
    from resources.lake.bronze import MANIFEST, read_payload
    from resources.lake.delta import read_table
    from resources.lake.quarantine import QUARANTINE
    from resources.simulated.cboe import history_csv
    from resources.sources.cboe.ingest import ingest_cboe
    from resources.sources.cboe.spec import INDEX_CLOSES

    plan = FaultPlan([Fault(fault, "VIX_History", times=2)])
    with serve_publisher(SimulatedPublisher(7, date(2024, 1, 31)), plan) as url:
        for name, value in {
            "NEXUS_SOURCE_MODE": "live",
            "NEXUS_CBOE_BASE_URL": url,
            "NEXUS_HTTP_MAX_ATTEMPTS": "2",
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        with pytest.raises(TruncatedPayloadError, match="body cut short") as err:
            ingest_cboe(storage, get_settings(), run_id="cut", end=date(2024, 1, 31), symbols=["VIX"])
    assert len(plan.requests) == 2
    [kept] = read_table(storage, MANIFEST).to_pylist()
    data = read_payload(storage, kept["sha256"])
    assert f"the {len(data):,} bytes received are kept in bronze (sha256 {kept['sha256'][:16]})" in str(err.value)
    assert len(data) > 0 and kept["source"] == "cboe" and kept["dataset"] == "VIX"
    full = history_csv(7, "VIX", date(2024, 1, 31))
    if fault == "chunked_cut":  # the fault's one chunk, exactly as sent
        assert data == b"DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2024,13.21,14.23,13.10,13.2"
    else:  # a strict prefix of the file the publisher meant to send
        assert len(data) < len(full) and full.startswith(data)
    [row] = read_table(storage, QUARANTINE).to_pylist()
    assert row["source_sha256"] == kept["sha256"] and row["error_type"] == "TruncatedBodyError"
    assert "body cut short" in row["reason"] and "VIX_History.csv" in row["location"]
    assert read_table(storage, INDEX_CLOSES).num_rows == 0
