"""Late first releases in live mode: a value cannot have been known before the lake first saw it.

Each silver row's `available_at` comes from the publisher's release calendar (COT Friday 15:30 ET, EIA Wednesday
10:30 ET, ...). When a publisher is late, a live ingest first sees a new key after its calendar time; keeping the
calendar time would back-date it. So in live mode a key seen for the first time gets
`available_at = max(calendar time, first seen)`, where first seen is the row's `ingested_at`. When first seen
applied, `available_at_derived` is True and `available_at == ingested_at`: that pair is the flag.

Only calendar times within `LATE_RELEASE_WINDOW` before the first sight are floored: anything older is history
the lake is filling in (a first load, a series added to the universe, a full refresh), for which the calendar
is the best estimate there is. On a first live load the last weeks are therefore dated when the lake loaded
them; that is conservative, never early. Simulated and files payloads keep the calendar time: a simulated
payload states its as-of time, and files are history by nature.
"""

from __future__ import annotations

from datetime import timedelta

from resources.lake.bronze import RawPayload

LATE_RELEASE_WINDOW = timedelta(days=45)


def first_seen_window(payload: RawPayload) -> timedelta | None:
    """The window of calendar times floored to first sight for this payload; None outside live fetches."""
    fetched_live = payload.as_of is None and payload.location.startswith(("http://", "https://"))
    return LATE_RELEASE_WINDOW if fetched_live else None
