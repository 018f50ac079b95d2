"""Late first releases: in live mode a key first seen after its calendar time is dated when the lake saw it.

The publisher here is a Coin Metrics v4 stand-in; its calendar time is 06:00 UTC the next day
(`coinmetrics.spec.available_at`). Days a few days old are first seen now, so their calendar time would back-date them;
a day more than the window old is history and keeps its calendar time; the same answer with a stated as-of
(simulated mode) keeps today's behaviour.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd

from resources.lake.delta import read_table
from resources.sources.coinmetrics.ingest import ingest_coinmetrics
from resources.sources.coinmetrics.spec import ASSET_METRICS, available_at
from resources.sources.endpoints import local_endpoints
from resources.sources.late_release import LATE_RELEASE_WINDOW
from tests.integration.test_incremental_live import Publisher, serve


def _ingest(storage, settings, url: str, today: date, *, mode: str, as_of: datetime | None = None):
    return ingest_coinmetrics(
        storage,
        settings,
        run_id=f"late-{mode}",
        start=today - timedelta(days=80),
        end=today,
        assets=("btc",),
        metrics=("PriceUSD",),
        endpoints=local_endpoints(url, mode=mode, as_of=as_of),
    )


def _rows(storage) -> pd.DataFrame:
    return read_table(storage, ASSET_METRICS).to_pandas().set_index("observed_date").sort_index()


def test_live_first_sight_floors_recent_calendar_times_and_flags_them(storage, settings):
    today = datetime.now(UTC).date()
    publisher = Publisher(today)
    publisher.prices = {today - timedelta(days=d): 100.0 + d for d in range(80)}
    before = datetime.now(UTC)
    with serve(publisher) as url:
        _ingest(storage, settings, url, today, mode="live")
    rows = _rows(storage)
    calendar = pd.Series([pd.Timestamp(available_at(d)) for d in rows.index], index=rows.index, name="calendar")
    first_seen = rows.available_at == rows.ingested_at
    # the window is measured from first sight, to the instant (by observed date it is off before 06:00 UTC)
    recent = calendar >= rows.ingested_at - pd.Timedelta(LATE_RELEASE_WINDOW)
    published = calendar < rows.ingested_at

    # seen after its calendar time, within the window: dated when first seen, and flagged
    late = recent & published
    assert late.sum() >= 40
    assert first_seen[late].all() and rows.available_at_derived[late].all()
    assert (rows.available_at[late] >= pd.Timestamp(before)).all()
    # history older than the window keeps the calendar time, unflagged
    old = ~recent
    assert old.sum() >= 30
    assert (rows.available_at[old] == calendar[old]).all() and not rows.available_at_derived[old].any()
    # a day whose calendar time is still ahead (today's, final tomorrow) keeps it: max(calendar, first seen)
    ahead = ~published
    assert 1 <= ahead.sum() <= 2 and (rows.available_at[ahead] == calendar[ahead]).all()
    assert not first_seen[ahead].any()


def test_simulated_payloads_with_an_as_of_keep_the_calendar_time(storage, settings):
    today = datetime.now(UTC).date()
    publisher = Publisher(today)
    publisher.prices = {today - timedelta(days=d): 100.0 + d for d in range(10)}
    with serve(publisher) as url:
        _ingest(storage, settings, url, today, mode="simulated", as_of=datetime.now(UTC))
    rows = _rows(storage)
    expected = [pd.Timestamp(available_at(d)) for d in rows.index]
    assert list(rows.available_at) == expected and not rows.available_at_derived.any()
