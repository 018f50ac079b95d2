"""Live mode end to end against a local FRED-speaking server: the root URL, paging, faults, secrets."""

import logging
from datetime import date

import pytest
from pydantic import SecretStr

from resources.errors import (
    BadRowsError,
    ConfigError,
    NotTabularError,
    SchemaMismatchError,
    SourceUnavailableError,
    TruncatedPayloadError,
)
from resources.lake.bronze import MANIFEST, read_payload, stored_location
from resources.lake.delta import read_table
from resources.lake.quarantine import QUARANTINE
from resources.settings import get_settings
from resources.simulated.fred import vintage_rows
from resources.simulated.publisher import SimulatedPublisher
from resources.simulated.server import Fault, FaultPlan, serve_publisher
from resources.sources.endpoints import local_endpoints
from resources.sources.fred.api_parser import parse_observations
from resources.sources.fred.client import FredClient, FredFetcher
from resources.sources.fred.ingest import ingest_fred
from resources.sources.fred.spec import OBSERVATIONS, SERIES

SECRET = "s3cr3tk3yf0rt3st1ngn3xusfr3d000"
KEY = SECRET + "0"  # 32 lower-case alphanumerics, as FRED wants
AS_OF = date(2024, 1, 31)
START = date(2023, 7, 1)
OBS = "/fred/series/observations"


@pytest.fixture
def live(monkeypatch):
    """Settings for live mode against a local server; yields a function that points them at a URL."""

    def point_at(url: str):
        monkeypatch.setenv("NEXUS_SOURCE_MODE", "live")
        monkeypatch.setenv("NEXUS_FRED_BASE_URL", f"{url}/fred")
        monkeypatch.setenv("FRED_API_KEY", KEY)
        monkeypatch.setenv("NEXUS_HTTP_TIMEOUT_S", "2")  # the local server answers in 0.3-0.8 s under load
        get_settings.cache_clear()
        return get_settings()

    return point_at


@pytest.fixture
def captured_logs():
    """Every log record of the run, httpx's request lines included (the logging plugin is off in these runs)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    root, httpx_logger = logging.getLogger(), logging.getLogger("httpx")
    old_level = httpx_logger.level
    root.addHandler(handler)
    httpx_logger.setLevel(logging.INFO)
    yield records
    root.removeHandler(handler)
    httpx_logger.setLevel(old_level)


def _no_secret_in_the_lake(storage) -> None:
    for spec in (MANIFEST, QUARANTINE, OBSERVATIONS, SERIES):
        assert SECRET not in str(read_table(storage, spec).to_pylist())


def test_the_client_pages_through_the_root_url(settings):
    plan = FaultPlan()
    with serve_publisher(SimulatedPublisher(settings.seed, AS_OF), plan) as url, FredFetcher(source="fred") as fetcher:
        endpoints = local_endpoints(url, mode="live")
        client = FredClient(fetcher, endpoints.fred, SecretStr(KEY), page_size=50)
        assert client.root_url == f"{url}/fred"
        pages = client.observations("DTWEXBGS", start=START, end=AS_OF)
        info = client.series_info("DTWEXBGS")
    expected = vintage_rows(settings.seed, "DTWEXBGS", AS_OF).query("date >= @START")
    assert len(pages) == -(-len(expected) // 50) > 1
    assert sum(parse_observations(p).table.num_rows for p in pages) == len(expected)
    assert all(p.location.startswith(f"{url}/fred/series/observations?series_id=DTWEXBGS") for p in pages)
    assert [f"offset={k * 50}" in p.location for k, p in enumerate(pages)] == [True] * len(pages)
    assert info.location == f"{url}/fred/series?series_id=DTWEXBGS"
    assert all(path.startswith("/fred/series") for path in plan.requests)
    assert all(SECRET not in p.location for p in [*pages, info])


def test_live_ingest_survives_429_5xx_timeouts_and_truncation(storage, live, captured_logs):
    plan = FaultPlan(
        [
            Fault("retry_after", OBS, times=1, status=429, retry_after="1"),
            Fault("status", "/fred/series", times=2, status=503),
            Fault("timeout", OBS, times=1),
            Fault("truncate", OBS, times=1),
        ]
    )
    with serve_publisher(SimulatedPublisher(7, AS_OF), plan) as url:
        settings = live(url)
        observations, series = ingest_fred(
            storage, settings, run_id="live", start=START, end=AS_OF, series=("SP500", "DGS10"), page_size=100
        )
    expected = sum(len(vintage_rows(7, s, AS_OF).query("date >= @START")) for s in ("SP500", "DGS10"))
    assert observations.added + observations.revised == expected and not observations.failed
    assert series.added == 2
    assert all(f.hits == f.times for f in plan.faults)
    assert len(plan.requests) > len(observations.payloads) + 2 + 4  # the faults were retried
    _no_secret_in_the_lake(storage)
    logged = "\n".join(r.getMessage() for r in captured_logs)
    assert "api_key=***" in logged and SECRET not in logged
    assert SECRET not in observations.model_dump_json() + series.model_dump_json()


def test_an_html_error_page_lands_in_bronze_and_nothing_of_it_in_silver(storage, live):
    plan = FaultPlan([Fault("html", "/fred/series/observations", times=1)])
    with serve_publisher(SimulatedPublisher(7, AS_OF), plan) as url:
        settings = live(url)
        with pytest.raises(NotTabularError) as err:
            ingest_fred(storage, settings, run_id="html", start=START, end=AS_OF, series=("SP500", "DGS10"))
    assert err.value.dataset == "SP500" and "HTML" in str(err.value)
    assert err.value.location.startswith(f"{url}/fred/series/observations?series_id=SP500")
    assert SECRET not in str(err.value)
    rows = read_table(storage, OBSERVATIONS).to_pandas()
    assert set(rows.series_id) == {"DGS10"}  # the other series still landed
    manifest = read_table(storage, MANIFEST).to_pandas()
    html = manifest[manifest.dataset == "SP500"].sort_values("bytes").iloc[0]
    assert read_payload(storage, html.sha256).startswith(b"<!DOCTYPE html>")
    quarantined = read_table(storage, QUARANTINE).to_pandas()
    assert quarantined.error_type.tolist() == ["NotTabularError"] and SECRET not in quarantined.location.iloc[0]


def test_fred_refusals_name_the_series_and_keep_the_others(storage, live):
    with serve_publisher(SimulatedPublisher(7, AS_OF)) as url:
        settings = live(url)
        with pytest.raises(SourceUnavailableError) as err:
            ingest_fred(storage, settings, run_id="nope", start=START, end=AS_OF, series=("NOPE", "DGS2"))
    assert err.value.dataset == "NOPE" and "The series does not exist" in str(err.value)
    assert "HTTP 400" in str(err.value) and SECRET not in str(err.value)
    assert set(read_table(storage, OBSERVATIONS).to_pandas().series_id) == {"DGS2"}


def test_a_bad_key_is_refused_without_showing_it(storage, live, monkeypatch):
    with serve_publisher(SimulatedPublisher(7, AS_OF)) as url:
        settings = live(url)
        monkeypatch.setenv("FRED_API_KEY", "Wrong-Key-123")
        get_settings.cache_clear()
        with pytest.raises(SourceUnavailableError) as err:
            ingest_fred(storage, get_settings(), run_id="key", start=START, end=AS_OF, series=("DGS2",))
    assert "not a 32 character alpha-numeric lower-case string" in str(err.value)
    assert "Wrong-Key-123" not in str(err.value)
    assert settings.fred_api_key is not None


def test_live_mode_without_a_key_is_a_configuration_error(storage, live, monkeypatch):
    settings = live("http://127.0.0.1:9")
    monkeypatch.delenv("FRED_API_KEY")
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="FRED_API_KEY"):
        ingest_fred(storage, get_settings(), run_id="nokey", start=START, end=AS_OF)
    assert settings.source_mode == "live"


def test_simulated_mode_uses_the_same_client_and_root_url(storage, settings, monkeypatch):
    seen: list[str] = []
    original = FredClient.__init__

    def spy(self, fetcher, base_url, api_key, **kwargs):
        original(self, fetcher, base_url, api_key, **kwargs)
        seen.append(self.root_url)

    monkeypatch.setattr(FredClient, "__init__", spy)
    ingest_fred(storage, settings, run_id="sim", start=date(2024, 1, 2), end=AS_OF, series=("DGS10",))
    assert len(seen) == 1 and seen[0].startswith("http://127.0.0.1:") and seen[0].endswith("/fred")
    manifest = read_table(storage, MANIFEST).to_pandas()
    assert manifest.location.str.startswith(stored_location(seen[0])).all()
    assert manifest.as_of.notna().all()  # simulated payloads carry the publisher's as-of time


_HEAD = (
    '<?xml version="1.0" encoding="utf-8" ?>\n<observations realtime_start="1776-07-04" realtime_end="2024-01-31" '
    'observation_start="2023-07-01" observation_end="2024-01-31" units="lin" output_type="1" file_type="xml" '
    'order_by="observation_date" sort_order="asc" count="2" offset="0" limit="100000">\n'
)
_ROW = '  <observation realtime_start="2023-07-04" realtime_end="9999-12-31" date="2023-07-03" value="{}"/>\n'


@pytest.mark.parametrize(
    ("body", "error", "row"),
    [
        (_HEAD + _ROW.format("3.86") + _ROW.format("3.86")[:40], TruncatedPayloadError, 2),
        (_HEAD + _ROW.format("3.86").replace("date=", "day=") + "</observations>\n", SchemaMismatchError, 1),
        (_HEAD + _ROW.format("3.86") + _ROW.format("abc") + "</observations>\n", BadRowsError, 2),
        (_HEAD + _ROW.format("3.86") + _ROW.format("3.87") + "</observations>\n", BadRowsError, 2),
        ('<?xml version="1.0" ?>\n<error code="500" message="Internal Server Error."/>\n', NotTabularError, None),
        ("", NotTabularError, None),
    ],
    ids=["truncated", "renamed-attribute", "non-numeric", "duplicate-vintage", "error-with-200", "empty"],
)
def test_bad_api_answers_are_kept_in_bronze_quarantined_and_kept_out_of_silver(storage, live, body, error, row):
    plan = FaultPlan([Fault("body", OBS, times=1, body=body.encode())])
    with serve_publisher(SimulatedPublisher(7, AS_OF), plan) as url, pytest.raises(error) as err:
        ingest_fred(storage, live(url), run_id="bad", start=START, end=AS_OF, series=("DGS10",))
    location = err.value.location
    assert err.value.source == "fred" and err.value.dataset == "DGS10"
    assert location.startswith(f"{url}/fred/series/observations?series_id=DGS10") and location in str(err.value)
    assert SECRET not in str(err.value)
    if row is not None:
        assert err.value.row == row
    assert read_table(storage, OBSERVATIONS).num_rows == 0
    manifest = read_table(storage, MANIFEST).to_pandas()
    page = manifest[manifest.location == location]
    assert len(page) == 1 and read_payload(storage, page.sha256.iloc[0]) == body.encode()
    quarantined = read_table(storage, QUARANTINE).to_pandas()
    assert set(quarantined.location) == {location}
    if row is not None:
        assert row in set(quarantined.row_number)
    _no_secret_in_the_lake(storage)
