"""The COT path end to end below Dagster: fetch pages or read files, bronze, parse, quarantine or silver."""

import csv
import logging
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from resources.errors import (
    BadRowsError,
    EmptyPayloadError,
    NotTabularError,
    SchemaMismatchError,
    SourceUnavailableError,
    TruncatedPayloadError,
)
from resources.http import HttpFetcher, RetryPolicy
from resources.lake.bronze import MANIFEST, read_payload
from resources.lake.delta import content_hash, read_table
from resources.lake.quarantine import QUARANTINE
from resources.quality.suites import validate
from resources.settings import get_settings
from resources.simulated import cot as sim
from resources.simulated.publisher import Request, Response, SimulatedPublisher
from resources.simulated.server import Fault, FaultPlan, serve_publisher
from resources.simulated.world import world_for
from resources.sources.cot.client import CotApiClient
from resources.sources.cot.ingest import ingest, ingest_cot, markets_for
from resources.sources.cot.layouts import LAYOUTS
from resources.sources.cot.socrata import page_length
from resources.sources.cot.spec import QUALITY, TABLES
from resources.sources.endpoints import local_endpoints
from resources.universe import get_universe
from tests.unit.test_cot_parser import META, TFF_HEADER, _tff_file, _tff_row

START, END = date(2022, 1, 1), date(2024, 6, 28)
TFF_PATH = "/resource/gpe5-46if.json"


def _expected(report: str, as_of: date, start: date = START, futures_only: bool = True) -> pd.DataFrame:
    frame = sim.published(7, report, futures_only, sim.as_of_time(7, as_of))
    keep = frame.code.isin(markets_for(report)) & (frame.report_date >= start) & (frame.report_date <= as_of)
    return frame[keep]


def _live(monkeypatch: pytest.MonkeyPatch, url: str, **env: str):
    monkeypatch.setenv("NEXUS_SOURCE_MODE", "live")
    monkeypatch.setenv("NEXUS_CFTC_BASE_URL", url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return get_settings()


def _write(tmp_path: Path, text: str | bytes, name: str = "FinFutYY.txt") -> Path:
    path = tmp_path / "files" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# --- simulated mode -------------------------------------------------------------------------------------------


def test_simulated_ingest_is_idempotent(storage, settings):
    reports = ingest(storage, settings, run_id="r1", start=START, end=END)
    for outcome, report in zip(reports, ("legacy", "tff", "disaggregated"), strict=True):
        assert (outcome.added, outcome.revised, outcome.failed) == (len(_expected(report, END)), 0, [])
    assert set(markets_for("legacy")) == {m.market_code for m in get_universe().cot_markets()}
    hashes = {r: content_hash(read_table(storage, spec)) for r, spec in TABLES.items()}
    manifest = read_table(storage, MANIFEST).num_rows
    again = ingest(storage, settings, run_id="r2", start=START, end=END)
    assert all((o.added, o.revised) == (0, 0) for o in again)
    assert {r: content_hash(read_table(storage, spec)) for r, spec in TABLES.items()} == hashes
    assert read_table(storage, MANIFEST).num_rows == manifest


def test_silver_rows_carry_release_times_and_pass_their_quality_suites(storage, settings):
    ingest(storage, settings, run_id="r1", start=START, end=END)
    for report, spec in TABLES.items():
        frame = read_table(storage, spec).to_pandas()
        outcome = validate(frame, QUALITY[report])
        assert outcome.success, [f.model_dump() for f in outcome.failures]
    tff = read_table(storage, TABLES["tff"]).to_pandas()
    juneteenth = tff[tff.report_date == date(2024, 6, 18)]
    assert set(juneteenth.available_at) == {datetime(2024, 6, 24, 19, 30, tzinfo=UTC)}
    assert juneteenth.available_at_derived.all()
    assert not tff[tff.report_date == date(2024, 6, 25)].available_at_derived.any()
    # the speculators' net share in silver is the world's (but for CFTC's revisions), so the planted reversal
    # effect can be recovered from silver
    revised = {(e.code, e.report_date) for e in sim.revisions(7)}
    world = world_for(7).positioning.assign(report_date=lambda f: f.report_date.dt.date)
    world = world[[(c, d) not in revised for c, d in zip(world.code, world.report_date, strict=True)]]
    for report, spec in (("tff", "leveraged_funds"), ("disaggregated", "managed_money"), ("legacy", "noncommercial")):
        rows = read_table(storage, TABLES[report]).to_pandas()
        merged = rows.merge(
            world, left_on=["report_date", "cftc_contract_market_code"], right_on=["report_date", "code"]
        )
        assert len(merged) >= len(rows) - len(revised)
        net = (merged[f"{spec}_long"] - merged[f"{spec}_short"]) / merged.open_interest_x
        assert (net - merged.spec_net_share).abs().max() < 1e-4


def test_an_older_then_a_newer_download_keeps_both_versions(storage, settings):
    tff_markets = set(markets_for("tff"))
    first = next(e for e in sim.revisions(7) if e.code in tff_markets and e.report_date >= START and e.effective <= END)
    early, late = first.effective - timedelta(days=1), END
    revised = [e for e in sim.revisions(7) if early < e.effective <= late and START <= e.report_date <= early]
    in_tff = [e for e in revised if e.code in tff_markets]
    ingest_cot(storage, settings, run_id="r1", start=START, end=early)
    outcomes = {o.table: o for o in ingest_cot(storage, settings, run_id="r2", start=START, end=late)}
    assert outcomes[TABLES["tff"].name].revised == len(in_tff) >= 1
    assert outcomes[TABLES["legacy"].name].revised == len({(e.code, e.report_date) for e in revised})
    rows = read_table(storage, TABLES["tff"]).to_pandas()
    versions = rows[(rows.cftc_contract_market_code == first.code) & (rows.report_date == first.report_date)]
    versions = versions.sort_values("version")
    assert list(versions.version) == [1, 2] and list(versions.is_revision) == [False, True]
    original = _expected("tff", early).set_index(["code", "report_date"]).loc[(first.code, first.report_date)]
    corrected = _expected("tff", late).set_index(["code", "report_date"]).loc[(first.code, first.report_date)]
    assert list(versions.open_interest) == [original.open_interest, corrected.open_interest]
    # the first version stays as it was known; the correction is known from the later download only
    assert versions.available_at.iloc[0] < versions.available_at.iloc[1]
    assert versions.available_at.iloc[1] >= datetime.combine(first.effective, datetime.min.time(), tzinfo=UTC)


def test_combined_reports_are_kept_apart_from_futures_only(storage, monkeypatch):
    ingest_cot(storage, get_settings(), run_id="f", start=date(2024, 1, 1), end=END, reports=("disaggregated",))
    monkeypatch.setenv("NEXUS_COT_COMBINED", "true")
    get_settings.cache_clear()
    ingest_cot(storage, get_settings(), run_id="c", start=date(2024, 1, 1), end=END, reports=("disaggregated",))
    rows = read_table(storage, TABLES["disaggregated"]).to_pandas()
    counts = rows.groupby("futures_only").size()
    assert counts[True] == counts[False] == len(_expected("disaggregated", END, date(2024, 1, 1)))
    assert (rows.version == 1).all()


# --- live mode against the local server, with faults -------------------------------------------------------------


@pytest.fixture(scope="module")
def warm_publisher():
    """Every dataset computed before timing-sensitive requests (once per process), not inside a timed response."""
    sim.warm(7, END)


def test_live_mode_pages_and_survives_429_5xx_timeouts_and_truncation(storage, monkeypatch, warm_publisher):
    plan = FaultPlan(
        [
            Fault("retry_after", TFF_PATH, times=1, status=429, retry_after="1"),
            Fault("status", TFF_PATH, times=1, status=503),
            Fault("timeout", TFF_PATH, times=1),
            Fault("truncate", TFF_PATH, times=1),
        ]
    )
    with serve_publisher(SimulatedPublisher(7, END), plan) as url:
        settings = _live(monkeypatch, url, NEXUS_HTTP_TIMEOUT_S="2")  # well above the 0.3-0.8 s answers under load
        outcomes = ingest_cot(storage, settings, run_id="live", start=START, end=END, page_size=200)
    expected = len(_expected("tff", END))
    tff = next(o for o in outcomes if o.table == TABLES["tff"].name)
    assert tff.added == expected and len(tff.payloads) == expected // 200 + 1
    tff_requests = [p for p in plan.requests if p == TFF_PATH]
    assert len(tff_requests) == len(tff.payloads) + 4  # one retry per injected fault
    assert read_table(storage, TABLES["tff"]).num_rows == expected
    manifest = read_table(storage, MANIFEST).to_pandas()
    assert manifest.location.str.contains("%24offset=200").any()  # one bronze payload per page


def test_the_client_follows_pages_until_a_short_one():
    with (
        serve_publisher(SimulatedPublisher(7, END)) as url,
        HttpFetcher(source="cot", timeout_s=5, policy=RetryPolicy(2, 0.01, 0.1)) as fetcher,
    ):
        endpoints = local_endpoints(url, mode="live")
        client = CotApiClient(fetcher, endpoints.cftc, as_of=None, page_size=100)
        pages = client.fetch("disaggregated", ["088691", "084691"], start=date(2023, 1, 1), end=END)
    rows = [page_length(p.data) for p in pages]
    expected = _expected("disaggregated", END, date(2023, 1, 1))
    assert sum(rows) == len(expected[expected.code.isin(["088691", "084691"])])
    assert rows[:-1] == [100] * (len(rows) - 1) and rows[-1] < 100
    assert all("72hh-3qpy.json" in p.location and p.dataset == "disaggregated_futures_only" for p in pages)


def test_an_html_error_page_lands_in_bronze_and_nothing_of_it_in_silver(storage, monkeypatch):
    plan = FaultPlan([Fault("html", TFF_PATH, times=1)])
    with serve_publisher(SimulatedPublisher(7, END), plan) as url:
        settings = _live(monkeypatch, url)
        with pytest.raises(NotTabularError) as err:
            ingest_cot(storage, settings, run_id="html", start=START, end=END)
    assert err.value.source == "cot" and err.value.dataset == "tff_futures_only"
    assert TFF_PATH in err.value.location and "HTML" in str(err.value)
    assert read_table(storage, TABLES["tff"]).num_rows == 0
    assert read_table(storage, TABLES["legacy"]).num_rows == len(_expected("legacy", END))
    manifest = read_table(storage, MANIFEST).to_pandas()
    html = manifest[manifest.dataset == "tff_futures_only"].sha256.iloc[0]
    assert read_payload(storage, html).startswith(b"<!DOCTYPE html>")
    quarantined = read_table(storage, QUARANTINE).to_pandas()
    assert set(quarantined.error_type) == {"NotTabularError"}


def test_an_unreachable_dataset_raises_and_lands_nothing_of_it(storage, monkeypatch):
    plan = FaultPlan([Fault("status", TFF_PATH, times=50, status=500)])
    with serve_publisher(SimulatedPublisher(7, END), plan) as url:
        settings = _live(monkeypatch, url, NEXUS_HTTP_MAX_ATTEMPTS="2")
        with pytest.raises(SourceUnavailableError, match="HTTP 500 after 2 attempts") as err:
            ingest_cot(storage, settings, run_id="down", start=START, end=END)
    assert err.value.dataset == "tff_futures_only" and TFF_PATH in err.value.location
    assert read_table(storage, TABLES["tff"]).num_rows == 0
    assert read_table(storage, TABLES["disaggregated"]).num_rows == len(_expected("disaggregated", END))


class _Recording(SimulatedPublisher):
    """The simulated publisher, remembering the headers of each request."""

    seen: list[dict[str, str]]

    def handle(self, request: Request) -> Response:
        self.seen.append(request.headers)
        return super().handle(request)


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_app_token_goes_in_a_header_and_nowhere_else(storage, monkeypatch):
    token = "s3cr3t-app-token"
    app = _Recording(7, END)
    app.seen = []
    plan = FaultPlan([Fault("status", TFF_PATH, times=50, status=500)])
    captured = _Captured()
    root = logging.getLogger()
    root.addHandler(captured)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        with serve_publisher(app, plan) as url:
            settings = _live(monkeypatch, url, CFTC_APP_TOKEN=token, NEXUS_HTTP_MAX_ATTEMPTS="2")
            with pytest.raises(SourceUnavailableError) as err:
                ingest_cot(storage, settings, run_id="token", start=START, end=END)
    finally:
        root.removeHandler(captured)
        root.setLevel(level)
    assert app.seen and all(h.get("x-app-token") == token for h in app.seen)
    assert captured.lines and not any(token in line for line in captured.lines)
    assert token not in str(err.value)
    manifest = read_table(storage, MANIFEST).to_pandas()
    assert len(manifest) and not manifest.astype(str).apply(lambda c: c.str.contains(token)).any().any()


# --- files mode -------------------------------------------------------------------------------------------------


def _file_counts(path: Path) -> Counter:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    code_at = [h.strip().lower().replace(" ", "_") for h in rows[0]].index("cftc_contract_market_code")
    return Counter(r[code_at].strip() for r in rows[1:] if r)


@pytest.mark.real_data
def test_every_real_cot_file_loads_with_the_files_row_counts(storage, settings, real_data):
    outcomes = ingest(storage, settings, run_id="real", start=None, end=None, files=[real_data / "cot"])
    folders = {
        "legacy": "legacy_futures_only",
        "tff": "tff_futures_only",
        "disaggregated": "disaggregated_futures_only",
    }
    for outcome, (report, folder) in zip(outcomes, folders.items(), strict=True):
        expected = sum((_file_counts(p) for p in sorted((real_data / "cot" / folder).glob("*.txt"))), Counter())
        rows = read_table(storage, TABLES[report]).to_pandas()
        assert Counter(rows.cftc_contract_market_code) == expected
        assert outcome.added == len(rows) and outcome.quarantined == 0
        assert validate(rows, QUALITY[report]).success
    tff = read_table(storage, TABLES["tff"]).to_pandas()
    bitcoin = tff[tff.cftc_contract_market_code == "133741"]
    assert bitcoin.report_date.min() == date(2018, 4, 10)


def test_files_and_api_give_the_same_silver(storage, settings, tmp_path):
    paths = sim.write_files(tmp_path / "cot", 7, END, reports=("tff",), years=(2023, 2024))
    ingest_cot(storage, settings, run_id="files", start=None, end=None, files=paths, reports=("tff",))
    from_files = read_table(storage, TABLES["tff"]).to_pandas()
    assert set(from_files.futures_only) == {True}
    expected = _expected("tff", END, date(2023, 1, 1))
    assert len(from_files) == len(expected)
    again = ingest_cot(storage, settings, run_id="api", start=date(2023, 1, 1), end=END, reports=("tff",))
    assert (again[0].added, again[0].revised, again[0].unchanged) == (0, 0, len(expected))


def test_files_mode_reads_the_configured_folder(storage, monkeypatch, tmp_path):
    sim.write_files(tmp_path / "cot", 7, END, reports=("disaggregated",), years=(2024,))
    monkeypatch.setenv("NEXUS_SOURCE_MODE", "files")
    monkeypatch.setenv("NEXUS_FILES_DIR", str(tmp_path))
    get_settings.cache_clear()
    outcomes = ingest(storage, get_settings(), run_id="dir", start=None, end=None)
    assert outcomes[2].added == len(_expected("disaggregated", END, date(2024, 1, 1)))
    assert outcomes[2].payloads[0].dataset == "disaggregated_futures_only"


GOOD = [_tff_row("2024-01-02"), _tff_row("2024-01-09")]
RENAMED = f"{META},{TFF_HEADER}".replace("Dealer_Positions_Long_All", "Dealer_Long")
MISSING = f"{META},{TFF_HEADER}".replace("Open_Interest_All,", "")


@pytest.mark.parametrize(
    ("text", "error", "row"),
    [
        (_tff_file(*GOOD, header=RENAMED), SchemaMismatchError, 1),
        (_tff_file(*GOOD, header=MISSING), SchemaMismatchError, 1),
        (_tff_file(*GOOD, _tff_row("2024-01-16", dealer_long="1O0")), BadRowsError, 4),
        (_tff_file(*GOOD, GOOD[0]), BadRowsError, 4),
        (_tff_file(), EmptyPayloadError, 1),
        ("", NotTabularError, None),
        ("<html><body>Access denied</body></html>", NotTabularError, None),
        (_tff_file(*GOOD, _tff_row("2024-01-16"))[:-60], TruncatedPayloadError, 4),
    ],
    ids=["renamed-column", "missing-column", "non-numeric", "duplicate", "no-rows", "empty", "html", "truncated"],
)
def test_bad_files_land_in_bronze_and_quarantine_but_not_in_silver(storage, settings, tmp_path, text, error, row):
    path = _write(tmp_path, text)
    with pytest.raises(error) as err:
        ingest(storage, settings, run_id="bad", start=None, end=None, files=[path])
    assert err.value.source == "cot" and err.value.dataset == "tff_futures_only"
    assert err.value.location == str(path) and str(path) in str(err.value)
    if row is not None:
        assert err.value.row == row and f"row={row}" in str(err.value)
    assert all(read_table(storage, spec).num_rows == 0 for spec in TABLES.values())
    manifest = read_table(storage, MANIFEST).to_pandas()
    assert read_payload(storage, manifest.sha256.iloc[0]) == path.read_bytes()
    quarantined = read_table(storage, QUARANTINE).to_pandas()
    assert set(quarantined.location) == {str(path)} and set(quarantined.source) == {"cot"}
    if row is not None:
        assert row in set(quarantined.row_number)


def test_missing_markers_load_as_nulls(storage, settings, tmp_path):
    text = _tff_file(_tff_row("2024-01-02", dealer_spread="."), _tff_row("2024-01-09", dealer_spread=""))
    ingest(storage, settings, run_id="dots", start=None, end=None, files=[_write(tmp_path, text)])
    rows = read_table(storage, TABLES["tff"]).to_pandas().sort_values("report_date")
    assert rows.dealer_spread.isna().tolist() == [True, True]


def test_one_bad_file_does_not_block_the_good_ones(storage, settings, tmp_path):
    good = sim.write_files(tmp_path / "good", 7, END, reports=("disaggregated",), years=(2024,))
    bad = _write(tmp_path, _tff_file(*GOOD, GOOD[1]))
    with pytest.raises(BadRowsError):
        ingest(storage, settings, run_id="mixed", start=None, end=None, files=[*good, bad])
    assert read_table(storage, TABLES["tff"]).num_rows == 0
    assert read_table(storage, TABLES["disaggregated"]).num_rows == len(
        _expected("disaggregated", END, date(2024, 1, 1))
    )


def test_a_zip_with_a_legacy_report_inside_is_filed_by_its_header(storage, settings, tmp_path):
    archive = tmp_path / "renamed.zip"  # no hint in the name
    archive.write_bytes(sim.annual_zip(7, "legacy", 2024, END))
    outcomes = ingest(storage, settings, run_id="zip", start=None, end=None, files=[archive])
    assert outcomes[0].payloads[0].dataset == "legacy_futures_only" and outcomes[0].added > 0
    assert {len(LAYOUTS[r].position_columns) for r in LAYOUTS} == {10, 17, 16}
