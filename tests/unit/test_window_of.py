"""window_of takes what it needs from the settings as parameters: the unpartitioned end date and live mode."""

from datetime import UTC, date, datetime

import pytest
from dagster import AssetExecutionContext, asset, materialize

from assets.partitions import AS_OF_TAG, DECLARED, window_of

SEEN: dict[str, tuple[date | None, date]] = {}


def _window(partition_key: str | None = None, tags: dict[str, str] | None = None, **kwargs) -> tuple:
    partitions_def = DECLARED["weekly"] if partition_key else None

    @asset(name="window_probe", partitions_def=partitions_def)
    def probe(context: AssetExecutionContext) -> None:
        SEEN["window"] = window_of(context, **kwargs)

    assert materialize([probe], partition_key=partition_key, tags=tags or {}).success
    return SEEN.pop("window")


def test_an_unpartitioned_run_ends_on_the_end_date_it_is_given_and_never_guesses():
    assert _window(end_date=date(2024, 6, 28)) == (None, date(2024, 6, 28))
    with pytest.raises(ValueError, match="end date"):
        _window()


def test_ingest_sees_the_week_through_the_as_of_tag_and_never_past_today_when_live():
    week = DECLARED["weekly"].get_last_partition_key()
    first, last = _window(week, as_of=True)
    assert (last - first).days == 6
    assert _window(week, tags={AS_OF_TAG: first.isoformat()}, as_of=True) == (first, first)
    today = datetime.now(UTC).date()
    assert _window(week, as_of=True, live=True)[1] == min(last, today)
