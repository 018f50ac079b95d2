"""Live mode end to end against a local server speaking EIA API v2, with injected faults, and the API key's safety."""

import logging
import math
from datetime import UTC, date, datetime, time

import pytest
from pydantic import SecretStr

from resources.errors import NotTabularError, SourceUnavailableError
from resources.http import HttpFetcher, RetryPolicy
from resources.lake.bronze import MANIFEST, object_location
from resources.lake.delta import read_table
from resources.lake.quarantine import QUARANTINE
from resources.settings import get_settings
from resources.simulated.eia import published, warm
from resources.simulated.publisher import SimulatedPublisher
from resources.simulated.server import Fault, FaultPlan, serve_publisher
from resources.sources.eia.client import EiaClient
from resources.sources.eia.ingest import ingest
from resources.sources.eia.spec import DAILY_PRICES, ROUTE_BY_PATH, SERIES, WEEKLY_SERIES
from resources.sources.endpoints import local_endpoints

SEED, AS_OF, START = 7, date(2024, 6, 28), date(2020, 1, 1)
SECRET = "eia-live-secret-key-0123456789abcdef"
SNDW, STOR, SPT, FUT, NGFUT = (f"/v2/{r}/data/" for r in ROUTE_BY_PATH)


@pytest.fixture(autouse=True, scope="module")
def _warm_world():
    """Build the simulated world and every series' rows before timing-sensitive requests (once per process)."""
    warm(SEED, SimulatedPublisher(SEED, AS_OF).as_of_time)


@pytest.fixture
def logs():
    """Every log line of the test, at DEBUG (works with `-p no:logging`, unlike caplog)."""
    lines: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler, root = _Keep(logging.DEBUG), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def live(monkeypatch):
    """Live-mode settings pointing EIA at a local server (set `.url` before use), with a secret API key."""

    def point_at(url: str):
        monkeypatch.setenv("NEXUS_SOURCE_MODE", "live")
        monkeypatch.setenv("NEXUS_EIA_BASE_URL", f"{url}/v2")
        monkeypatch.setenv("EIA_API_KEY", SECRET)
        monkeypatch.setenv("NEXUS_HTTP_TIMEOUT_S", "2")  # the local server answers in 0.3-0.8 s under load
        get_settings.cache_clear()
        return get_settings()

    return point_at


def _expected(cadence: str) -> dict[str, int]:
    at = datetime.combine(AS_OF, time(22, 0), tzinfo=UTC)
    return {
        s.id: int((published(SEED, s.id, at).index >= START).sum()) for s in SERIES.values() if s.cadence == cadence
    }


def test_live_ingest_survives_429_5xx_timeouts_and_cut_bodies(storage, live, logs):
    plan = FaultPlan(
        [
            Fault("retry_after", SNDW, times=1, status=429, retry_after="1"),
            Fault("status", SPT, times=2, status=503),
            Fault("timeout", STOR, times=1),
            Fault("truncate", NGFUT, times=1),
        ]
    )
    with serve_publisher(SimulatedPublisher(SEED, AS_OF), plan) as url:
        settings = live(url)
        weekly, daily = ingest(storage, settings, run_id="live", start=START, end=AS_OF)
    assert weekly.failed == [] and daily.failed == []
    weekly_rows = read_table(storage, WEEKLY_SERIES).to_pandas().series_id.value_counts().to_dict()
    daily_rows = read_table(storage, DAILY_PRICES).to_pandas().series_id.value_counts().to_dict()
    assert weekly_rows == _expected("weekly") and daily_rows == _expected("daily")
    # natural-gas/pri/fut holds 5 series: more than 5000 rows, so several pages, plus one retried cut body
    pages = math.ceil(sum(daily_rows[s] for s in ("RNGWHHD", "RNGC1", "RNGC2", "RNGC3", "RNGC4")) / 5000)
    assert pages > 1 and plan.requests.count(NGFUT) == pages + 1
    spot_pages = math.ceil((daily_rows["RWTC"] + daily_rows["RBRTE"]) / 5000)
    assert plan.requests.count(SNDW) == 1 + 1 and plan.requests.count(SPT) == spot_pages + 2
    assert plan.requests.count(STOR) == 1 + 1
    _assert_secret_nowhere(storage, "\n".join(logs))


def _assert_secret_nowhere(storage, logs: str, error: str = "") -> None:
    manifest = read_table(storage, MANIFEST).to_pandas()
    assert len(manifest) and not manifest.location.str.contains(SECRET).any()
    for uri in manifest.object_uri:
        assert SECRET.encode() not in storage.read_bytes(object_location(storage, uri))
    quarantine = read_table(storage, QUARANTINE).to_pandas()
    assert not quarantine.astype(str).apply(lambda col: col.str.contains(SECRET)).any().any()
    assert SECRET not in logs and SECRET not in error


def test_an_html_page_is_refused_and_kept_in_bronze(storage, live, logs):
    plan = FaultPlan([Fault("html", STOR, times=5)])
    with serve_publisher(SimulatedPublisher(SEED, AS_OF), plan) as url, pytest.raises(NotTabularError) as err:
        ingest(storage, live(url), run_id="html", start=START, end=AS_OF)
    assert err.value.source == "eia" and err.value.dataset == "natural_gas_weekly_storage"
    assert "HTML" in str(err.value) and "natural-gas/stor/wkly" in str(err.value) and "api_key" not in str(err.value)
    weekly = read_table(storage, WEEKLY_SERIES).to_pandas()
    assert "NW2_EPG0_SWO_R48_BCF" not in set(weekly.series_id) and "WCESTUS1" in set(weekly.series_id)
    assert read_table(storage, DAILY_PRICES).num_rows == sum(_expected("daily").values())
    manifest = read_table(storage, MANIFEST).to_pandas()
    html = manifest[manifest.dataset == "natural_gas_weekly_storage"]
    assert len(html) == 1 and storage.read_bytes(object_location(storage, html.object_uri.iloc[0])).startswith(
        b"<!DOCTYPE html>"
    )
    assert "natural_gas_weekly_storage" in set(read_table(storage, QUARANTINE).to_pandas().dataset)
    _assert_secret_nowhere(storage, "\n".join(logs), str(err.value))


def test_an_eia_error_body_with_http_200_is_refused(storage, live):
    body = b'{"error":"Invalid facet \'series\' provided.","code":400}'
    plan = FaultPlan([Fault("body", SPT, times=5, body=body)])
    with serve_publisher(SimulatedPublisher(SEED, AS_OF), plan) as url, pytest.raises(NotTabularError) as err:
        ingest(storage, live(url), run_id="err", start=START, end=AS_OF)
    assert "EIA API error 400: Invalid facet" in str(err.value) and err.value.dataset == "petroleum_spot_prices"


def test_persistent_failures_give_up_without_showing_the_key(storage, live, logs):
    plan = FaultPlan([Fault("status", SNDW, times=50, status=500)])
    with serve_publisher(SimulatedPublisher(SEED, AS_OF), plan) as url, pytest.raises(SourceUnavailableError) as err:
        ingest(storage, live(url), run_id="down", start=START, end=AS_OF)
    assert err.value.source == "eia" and err.value.dataset == "petroleum_weekly_supply"
    assert "petroleum/sum/sndw" in str(err.value) and "api_key=***" in str(err.value)
    assert SECRET not in str(err.value) and SECRET not in "\n".join(logs)
    assert any("attempt" in line for line in logs)  # the retries were logged


def test_the_key_gate_answers_403_without_a_key(storage, live, monkeypatch):
    with serve_publisher(SimulatedPublisher(SEED, AS_OF)) as url, HttpFetcher(source="eia", timeout_s=2) as fetcher:
        client = EiaClient(fetcher, local_endpoints(url, mode="live").eia, None)
        with pytest.raises(SourceUnavailableError, match="HTTP 403"):
            client.fetch(ROUTE_BY_PATH["petroleum/sum/sndw"], ["WCESTUS1"], START, AS_OF)


def test_the_client_follows_offsets_until_the_total(storage):
    route = ROUTE_BY_PATH["petroleum/pri/fut"]
    plan = FaultPlan()
    with (
        serve_publisher(SimulatedPublisher(SEED, AS_OF), plan) as url,
        HttpFetcher(source="eia", timeout_s=2, policy=RetryPolicy(3, 0.01, 0.1)) as fetcher,
    ):
        endpoints = local_endpoints(url, mode="live")
        client = EiaClient(fetcher, endpoints.eia, SecretStr(SECRET), page_size=1000)
        payloads = client.fetch(route, ["RCLC1", "RCLC2", "RCLC3", "RCLC4"], START, AS_OF)
    total = sum(_expected("daily")[f"RCLC{k}"] for k in range(1, 5))
    assert len(payloads) == len(plan.requests) == math.ceil(total / 1000)
    assert [p.location.split("offset=")[1].split("&")[0] for p in payloads] == [
        str(k * 1000) for k in range(len(payloads))
    ]
    assert all(SECRET.encode() not in p.data and b'"api_key":"***"' in p.data for p in payloads)
    assert all("api_key" not in p.location for p in payloads)
