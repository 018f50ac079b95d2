"""Live mode end to end against a local server speaking API v4: paging, 429, 5xx, timeouts, cut bodies, error pages."""

import time
from datetime import date

import pytest

from resources.errors import NotTabularError, SourceUnavailableError
from resources.lake.bronze import MANIFEST, read_payload
from resources.lake.delta import read_table
from resources.lake.quarantine import QUARANTINE
from resources.settings import get_settings
from resources.simulated.publisher import SimulatedPublisher
from resources.simulated.server import HTML_ERROR_PAGE, Fault, FaultPlan, serve_publisher
from resources.sources.coinmetrics.ingest import ingest_coinmetrics
from resources.sources.coinmetrics.spec import ASSET_METRICS
from resources.sources.endpoints import local_endpoints

PATH = "/v4/timeseries/asset-metrics"
AS_OF = date(2024, 4, 1)
START, END = date(2024, 1, 1), date(2024, 3, 31)
METRICS = ("PriceUSD", "CapMVRVCur", "HashRate")


@pytest.fixture(autouse=True, scope="module")
def _warm_world():
    """Build the simulated world before timing-sensitive requests (about 2 s once per process)."""
    from resources.simulated.coinmetrics import served_strings

    served_strings(7, "btc", AS_OF)


def _run(storage, settings, plan: FaultPlan, **kwargs):
    with serve_publisher(SimulatedPublisher(7, AS_OF), plan) as url:
        return ingest_coinmetrics(
            storage,
            settings,
            run_id="live",
            start=START,
            end=END,
            metrics=kwargs.pop("metrics", METRICS),
            endpoints=local_endpoints(url, mode="live"),
            **kwargs,
        )


def _expected_rows() -> int:
    days = (END - START).days + 1
    return days * 3 + days * 2  # btc: price, MVRV, hash rate; eth: price, MVRV


def test_pages_are_followed_until_the_last_one(storage, settings):
    plan = FaultPlan()
    report = _run(storage, settings, plan, page_size=50)
    rows_served = 2 * ((END - START).days + 1)
    assert len(plan.requests) == len(report.payloads) == -(-rows_served // 50)
    assert report.added == _expected_rows() and report.failed == []
    assert all("next_page_token=" in p.location for p in report.payloads[1:])
    assert read_table(storage, MANIFEST).num_rows == len(report.payloads)
    rows = read_table(storage, ASSET_METRICS).to_pandas()
    assert set(rows[rows.asset == "eth"].metric) == {"PriceUSD", "CapMVRVCur"}  # ETH publishes no HashRate
    assert rows.observed_date.min() == START and rows.observed_date.max() == END


def test_429_waits_what_retry_after_asks(storage, monkeypatch):
    monkeypatch.setenv("NEXUS_HTTP_MAX_BACKOFF_S", "5")
    get_settings.cache_clear()
    plan = FaultPlan([Fault("retry_after", PATH, times=1, status=429, retry_after="1")])
    started = time.perf_counter()
    report = _run(storage, get_settings(), plan)
    assert time.perf_counter() - started >= 0.95
    assert len(plan.requests) == 2 and report.added == _expected_rows()


def test_5xx_timeouts_and_cut_bodies_are_retried(storage, monkeypatch):
    monkeypatch.setenv("NEXUS_HTTP_TIMEOUT_S", "2")  # the local server answers in ~0.3-0.8 s on the shared machine
    get_settings.cache_clear()
    plan = FaultPlan(
        [
            Fault("status", PATH, times=2, status=503),
            Fault("timeout", PATH, times=1),
            Fault("truncate", PATH, times=1),
        ]
    )
    report = _run(storage, get_settings(), plan)
    assert len(plan.requests) == 5 and len(report.payloads) == 1
    assert report.added == _expected_rows()


def test_a_publisher_that_keeps_failing_is_a_typed_error_and_lands_nothing(storage, settings):
    plan = FaultPlan([Fault("status", PATH, times=50, status=500)])
    with pytest.raises(SourceUnavailableError) as err:
        _run(storage, settings, plan)
    assert err.value.source == "coinmetrics" and PATH in (err.value.location or "")
    assert "HTTP 500" in str(err.value)
    assert read_table(storage, ASSET_METRICS).num_rows == 0


def test_an_html_error_page_with_status_200_is_refused_and_kept_in_bronze(storage, settings):
    plan = FaultPlan([Fault("html", PATH, times=1)])
    with pytest.raises(NotTabularError) as err:
        _run(storage, settings, plan)
    assert "HTML" in str(err.value) and PATH in str(err.value) and err.value.dataset == "asset_metrics"
    assert read_table(storage, ASSET_METRICS).num_rows == 0
    manifest = read_table(storage, MANIFEST).to_pandas()
    assert read_payload(storage, manifest.sha256.iloc[0]) == HTML_ERROR_PAGE
    quarantined = read_table(storage, QUARANTINE).to_pandas()
    assert list(quarantined.error_type) == ["NotTabularError"] and PATH in quarantined.location.iloc[0]


def test_unpublished_or_unknown_metrics_do_not_fail_the_request(storage, settings):
    plan = FaultPlan()
    report = _run(storage, settings, plan, metrics=("HashRate", "NoSuchMetric"))
    rows = read_table(storage, ASSET_METRICS).to_pandas()
    assert report.failed == [] and set(rows.asset) == {"btc"} and set(rows.metric) == {"HashRate"}
