"""Incremental live fetch: nights ask only from shortly before the last observation; a periodic full refresh
still catches a restatement older than that window."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pyarrow.compute as pc
import pytest

from resources.lake.delta import read_table
from resources.settings import get_settings
from resources.sources.coinmetrics.ingest import ingest_coinmetrics
from resources.sources.coinmetrics.spec import ASSET_METRICS
from resources.sources.endpoints import local_endpoints
from resources.sources.fetch_window import last_full_refresh, plan_fetch

FIRST = date(2024, 1, 1)


class Publisher:
    """A Coin Metrics v4 stand-in whose history the test edits: one BTC price per day up to `today`."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.prices = {FIRST + timedelta(days=i): 40_000.0 + i for i in range((today - FIRST).days + 1)}
        self.asked: list[dict[str, list[str]]] = []

    def page(self, query: dict[str, list[str]]) -> bytes:
        self.asked.append(query)
        start = date.fromisoformat(query.get("start_time", [FIRST.isoformat()])[0][:10])
        end = min(date.fromisoformat(query.get("end_time", [self.today.isoformat()])[0][:10]), self.today)
        rows = [
            {"asset": "btc", "time": f"{day.isoformat()}T00:00:00.000000000Z", "PriceUSD": f"{price:.2f}"}
            for day, price in sorted(self.prices.items())
            if start <= day <= end
        ]
        return json.dumps({"data": rows}).encode()


@contextmanager
def serve(publisher: Publisher) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            return

        def do_GET(self) -> None:
            body = publisher.page(parse_qs(urlsplit(self.path).query))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _night(storage, settings, url: str, day: date):
    return ingest_coinmetrics(
        storage,
        settings,
        run_id=f"night-{day}",
        start=FIRST,
        end=day,
        assets=("btc",),
        metrics=("PriceUSD",),
        endpoints=local_endpoints(url, mode="live"),
    )


def _latest_price(storage, day: date) -> float:
    rows = read_table(storage, ASSET_METRICS).filter(pc.equal(read_table(storage, ASSET_METRICS)["observed_date"], day))
    return max(rows.to_pylist(), key=lambda r: r["version"])["value"]


def test_nights_fetch_incrementally_and_the_weekly_full_refresh_catches_an_old_restatement(storage, monkeypatch):
    monkeypatch.setenv("NEXUS_LIVE_LOOKBACK_DAYS", "10")
    monkeypatch.setenv("NEXUS_LIVE_FULL_REFRESH_DAYS", "7")
    settings = get_settings()
    night = date(2024, 3, 1)
    publisher = Publisher(night)
    with serve(publisher) as url:
        _night(storage, settings, url, night)  # nothing known yet: the whole history
        assert publisher.asked[-1]["start_time"] == [FIRST.isoformat()]
        assert last_full_refresh(storage, "coinmetrics") == night

        old = night - timedelta(days=30)  # restated, well outside the 10-day window
        publisher.prices[old] = 1.0
        for n in range(1, 7):  # six incremental nights, one new day each
            publisher.today = night + timedelta(days=n)
            publisher.prices[publisher.today] = 50_000.0 + n
            _night(storage, settings, url, publisher.today)
            assert publisher.asked[-1]["start_time"] == [(publisher.today - timedelta(days=1 + 10)).isoformat()]
        assert _latest_price(storage, night + timedelta(days=6)) == 50_006.0  # new days arrive
        assert _latest_price(storage, old) != 1.0  # the old restatement is outside every incremental window

        publisher.today = night + timedelta(days=7)  # a week after the last full refresh: full again
        publisher.prices[publisher.today] = 50_007.0
        _night(storage, settings, url, publisher.today)
        assert publisher.asked[-1]["start_time"] == [FIRST.isoformat()]
    assert _latest_price(storage, old) == 1.0  # caught, as a new version
    assert last_full_refresh(storage, "coinmetrics") == night + timedelta(days=7)


def test_with_incremental_fetch_off_every_night_fetches_in_full(storage, monkeypatch):
    monkeypatch.setenv("NEXUS_LIVE_INCREMENTAL", "false")
    publisher = Publisher(date(2024, 2, 1))
    with serve(publisher) as url:
        _night(storage, get_settings(), url, date(2024, 2, 1))
        publisher.today = date(2024, 2, 2)
        _night(storage, get_settings(), url, date(2024, 2, 2))
    assert [q["start_time"] for q in publisher.asked] == [[FIRST.isoformat()]] * 2


@pytest.mark.parametrize(
    ("last_full", "seen", "full", "reason"),
    [
        (None, {"a": date(2024, 3, 1)}, True, "no full refresh recorded yet"),
        (date(2024, 3, 1), {"a": date(2024, 3, 1)}, False, "incremental"),
        (date(2024, 2, 23), {"a": date(2024, 3, 1)}, True, "last full refresh as of 2024-02-23"),
        (date(2024, 3, 1), {}, True, "nothing in silver yet for a"),
    ],
)
def test_the_plan(last_full, seen, full, reason):
    plan = plan_fetch(
        ["a"],
        requested_start=date(2020, 1, 1),
        as_of=date(2024, 3, 1),
        last_seen=seen,
        last_full=last_full,
        lookback_days=35,
        full_refresh_days=7,
    )
    assert plan.full is full and plan.reason.startswith(reason)
    assert plan.start_for(["a"]) == (date(2020, 1, 1) if full else date(2024, 1, 26))


@pytest.mark.slow
def test_fred_and_cot_live_nights_ask_from_the_lookback_window(storage, monkeypatch):
    """The wiring of the other sources: night 2 asks FRED's observation_start and Socrata's report date from
    35 days before each series' last observation (bronze keeps each request's URL)."""
    from urllib.parse import unquote_plus

    from resources.lake.bronze import MANIFEST
    from resources.simulated.publisher import SimulatedPublisher
    from resources.simulated.server import serve_publisher
    from resources.sources.cot.ingest import ingest_cot
    from resources.sources.fred.ingest import ingest_fred
    from resources.sources.fred.spec import SIMULATED_API_KEY

    start, nights = date(2023, 6, 1), (date(2024, 6, 27), date(2024, 6, 28))
    for night in nights:
        with serve_publisher(SimulatedPublisher(7, night)) as url:
            for name, value in {
                "NEXUS_SOURCE_MODE": "live",
                "NEXUS_FRED_BASE_URL": f"{url}/fred",
                "NEXUS_CFTC_BASE_URL": url,
                "FRED_API_KEY": SIMULATED_API_KEY,
            }.items():
                monkeypatch.setenv(name, value)
            run = f"night-{night}"
            ingest_fred(storage, get_settings(), run_id=run, start=start, end=night, series=("DGS10",))
            ingest_cot(storage, get_settings(), run_id=run, start=start, end=night, reports=("legacy",))
    manifest = read_table(storage, MANIFEST).to_pandas()
    second = [unquote_plus(u) for u in manifest[manifest.run_id == f"night-{nights[1]}"].location]
    fred = [u for u in second if "/fred/series/observations" in u]
    cot = [u for u in second if "/resource/" in u]
    assert fred and all("observation_start=2024-05-2" in u for u in fred)  # DGS10's last day (26 or 27 June) - 35
    assert cot and all(">= '2024-05-1" in u for u in cot)  # last report Tuesday 18 June - 35 days = 14 May
    first = [unquote_plus(u) for u in manifest[manifest.run_id == f"night-{nights[0]}"].location]
    assert any("observation_start=2023-06-01" in u for u in first)
