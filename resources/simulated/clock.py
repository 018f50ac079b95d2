"""The simulated publisher's clock: the instant up to which it has released, which a test can move forward.

Kept in a small JSON file so that the test, the daemon's sensors and the runs they launch (separate processes) read
one clock. Without a file, or outside simulated mode, the clock is the wall clock.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel

from resources.settings import Settings


class ClockState(BaseModel):
    """The clock file's contract."""

    now: AwareDatetime


class PublisherClock:
    def __init__(self, path: Path | None) -> None:
        self.path = path

    def now(self) -> datetime:
        if self.path is None or not self.path.exists():
            return datetime.now(UTC)
        return ClockState.model_validate_json(self.path.read_text(encoding="utf-8")).now.astimezone(UTC)

    def set(self, instant: datetime) -> None:
        """Move the publisher to `instant` (atomic replace, so a reader never sees half a file)."""
        if self.path is None:
            raise ValueError("the publisher clock has no file (set NEXUS_PUBLISHER_CLOCK_FILE)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"now": instant.astimezone(UTC).isoformat()})
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".clock-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
        os.replace(tmp, self.path)


def publisher_now(settings: Settings) -> datetime:
    """The publishers' now: the simulated clock file when configured in simulated mode, else the wall clock."""
    path = settings.publisher_clock_file if settings.source_mode == "simulated" else None
    return PublisherClock(path).now()


def freshness_now(settings: Settings) -> datetime:
    """The instant freshness is judged at. A simulated publisher with no clock file has released its world up to
    NEXUS_END_DATE (what `nexus run` loads), so a lake built to that date is fresh rather than a year late; a clock
    file or live mode judge at the publishers' now."""
    now = publisher_now(settings)
    if settings.source_mode != "simulated" or settings.publisher_clock_file is not None:
        return now
    return min(now, datetime.combine(settings.end_date, settings.decision_time_utc, tzinfo=UTC))
