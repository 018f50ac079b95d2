"""Release sensors: every trigger follows its publisher's release calendar in New York time, holidays included."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dagster import AssetKey, DefaultSensorStatus, SensorResult, SkipReason, build_sensor_context

from assets.partitions import AS_OF_TAG, configured_partitions
from pipelines.definitions import defs, ingest_jobs
from pipelines.sensors import STREAM_INGESTS, ReleaseCursor, release_sensor
from resources.releases import STREAMS, Release, releases_between
from resources.settings import get_settings
from resources.settings_resource import SettingsResource
from resources.simulated.clock import PublisherClock
from resources.sources.cot.calendar import release_time as cot_release_time
from resources.sources.eia.calendar import gas_storage_release, petroleum_release

NY = ZoneInfo("America/New_York")


def _ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def _in(stream: str, first: date, last: date) -> list[datetime]:
    start = datetime.combine(first, datetime.min.time(), tzinfo=NY)
    end = datetime.combine(last, datetime.max.time(), tzinfo=NY)
    return [r.at for r in releases_between(stream, start, end)]


def test_weekly_triggers_are_the_release_calendars_for_a_whole_year():
    fridays = [date(2024, 1, 5) + timedelta(weeks=k) for k in range(52)]
    tuesdays = [date(2024, 1, 2) + timedelta(weeks=k) for k in range(52)]
    window = (date(2024, 1, 8), date(2024, 12, 20))
    expected_petroleum = [petroleum_release(f).at for f in fridays]
    expected_gas = [gas_storage_release(f).at for f in fridays]
    expected_cot = [cot_release_time(t) for t in tuesdays]
    for stream, expected in (("eia_petroleum", expected_petroleum), ("eia_gas", expected_gas), ("cot", expected_cot)):
        inside = sorted(at for at in expected if window[0] <= at.astimezone(NY).date() <= window[1])
        assert _in(stream, *window) == inside, stream


@pytest.mark.parametrize(
    ("stream", "week", "expected"),
    [
        # Juneteenth (Wednesday 19 June 2024): COT moves to Monday, the WPSR to Thursday 11:00, the WNGSR to Friday.
        ("cot", (date(2024, 6, 17), date(2024, 6, 24)), [_ny(2024, 6, 24, 15, 30)]),
        ("eia_petroleum", (date(2024, 6, 17), date(2024, 6, 21)), [_ny(2024, 6, 20, 11, 0)]),
        ("eia_gas", (date(2024, 6, 17), date(2024, 6, 21)), [_ny(2024, 6, 21, 10, 30)]),
        # Christmas 2024 (Tuesday closure, Wednesday holiday): the WPSR on Friday 13:00.
        ("eia_petroleum", (date(2024, 12, 23), date(2024, 12, 27)), [_ny(2024, 12, 27, 13, 0)]),
        # Thanksgiving 2024: gas storage on Wednesday at noon; COT on Monday 2 December.
        ("eia_gas", (date(2024, 11, 25), date(2024, 11, 29)), [_ny(2024, 11, 27, 12, 0)]),
        ("cot", (date(2024, 11, 25), date(2024, 12, 2)), [_ny(2024, 12, 2, 15, 30)]),
        # A regular week: COT Friday 15:30, WPSR Wednesday 10:30, WNGSR Thursday 10:30 (EST and EDT alike).
        ("cot", (date(2024, 3, 4), date(2024, 3, 10)), [_ny(2024, 3, 8, 15, 30)]),
        ("eia_petroleum", (date(2024, 3, 11), date(2024, 3, 17)), [_ny(2024, 3, 13, 10, 30)]),
        ("eia_gas", (date(2024, 3, 11), date(2024, 3, 17)), [_ny(2024, 3, 14, 10, 30)]),
        # Daily publishers: Cboe after the 16:15 close on NYSE days (Good Friday closed), FRED at 17:00 on
        # FRED business days (Good Friday is not a federal holiday), Coin Metrics every day at 06:00 UTC.
        (
            "cboe",
            (date(2024, 3, 28), date(2024, 4, 1)),
            [_ny(2024, 3, 28, 16, 15), _ny(2024, 4, 1, 16, 15)],
        ),
        (
            "fred",
            (date(2024, 3, 28), date(2024, 4, 1)),
            [_ny(2024, 3, 28, 17, 0), _ny(2024, 3, 29, 17, 0), _ny(2024, 4, 1, 17, 0)],
        ),
        ("fred", (date(2024, 6, 19), date(2024, 6, 19)), []),
        ("coinmetrics", (date(2024, 3, 30), date(2024, 3, 30)), [datetime(2024, 3, 30, 6, 0, tzinfo=UTC)]),
    ],
)
def test_release_times_in_new_york_with_holiday_shifts(stream, week, expected):
    assert _in(stream, *week) == [e.astimezone(UTC) for e in expected]


def test_every_stream_has_a_stopped_sensor_launching_its_ingest():
    sensors = {s.name: s for s in defs.sensors}
    for stream in STREAMS:
        sensor_def = sensors[f"{stream}_release"]
        assert sensor_def.default_status == DefaultSensorStatus.STOPPED
        assert set(STREAM_INGESTS[stream])
    assert sensors["nexus_automation"].default_status == DefaultSensorStatus.STOPPED
    # No clock chain: stages after ingest run on automation conditions. The one schedule is housekeeping
    # (`nexus maintain`), which builds nothing downstream.
    assert [(s.name, s.job_name) for s in defs.schedules] == [("weekly_maintenance", "maintenance_job")]


def _tick(name: str, cursor: str | None):
    """One tick under the settings of the test's environment (its clock file): what a code server started in it
    hands the sensor through its `settings` resource."""
    context = build_sensor_context(
        cursor=cursor,
        repository_def=defs.get_repository_def(),
        resources={"settings": SettingsResource.from_settings(get_settings())},
    )
    return defs.get_sensor_def(name)(context)


def test_cot_sensor_waits_for_the_shifted_release_and_loads_it_as_of_its_day(tmp_path, monkeypatch):
    """Juneteenth week 2024: nothing on Friday 21 June, the report on Monday 24 June at 15:30 ET."""
    clock_file = tmp_path / "clock.json"
    monkeypatch.setenv("NEXUS_PUBLISHER_CLOCK_FILE", str(clock_file))
    clock = PublisherClock(clock_file)
    clock.set(_ny(2024, 6, 20, 12, 0))
    first = _tick("cot_release", None)  # first tick: the newest past release (14 June), no history replay
    assert isinstance(first, SensorResult)
    assert [r.tags[AS_OF_TAG] for r in first.run_requests] == ["2024-06-14"]
    cursor = first.cursor
    clock.set(_ny(2024, 6, 21, 16, 0))  # the regular Friday slot: CFTC publishes nothing this week
    assert isinstance(_tick("cot_release", cursor), SkipReason)
    clock.set(_ny(2024, 6, 24, 15, 29))
    assert isinstance(_tick("cot_release", cursor), SkipReason)
    clock.set(_ny(2024, 6, 24, 15, 31))
    result = _tick("cot_release", cursor)
    assert isinstance(result, SensorResult)
    (request,) = result.run_requests
    assert request.job_name == "weekly_ingest_job"
    assert request.tags[AS_OF_TAG] == "2024-06-24"
    assert request.partition_key == "2024-06-22"  # the Saturday-Friday week holding Monday 24 June
    weekly = configured_partitions(get_settings())["weekly"]
    assert weekly.get_partition_key_for_timestamp(_ny(2024, 6, 24, 15, 31).timestamp()) == "2024-06-22"
    keys = {k.to_user_string() for k in request.asset_selection}
    assert "silver/cot/legacy_positions" in keys and all(k.split("/")[1] == "cot" for k in keys)
    assert ReleaseCursor.model_validate_json(result.cursor).last == _ny(2024, 6, 24, 15, 30)
    again = _tick("cot_release", result.cursor)  # the same release never launches twice
    assert isinstance(again, SkipReason)


def test_eia_wednesday_release_refreshes_weekly_reports_and_daily_prices(tmp_path, monkeypatch):
    clock_file = tmp_path / "clock.json"
    monkeypatch.setenv("NEXUS_PUBLISHER_CLOCK_FILE", str(clock_file))
    PublisherClock(clock_file).set(_ny(2024, 3, 13, 10, 31))
    cursor = ReleaseCursor(last=_ny(2024, 3, 6, 10, 30)).model_dump_json()
    result = _tick("eia_petroleum_release", cursor)
    jobs = {r.job_name: r for r in result.run_requests}
    assert set(jobs) == {"weekly_ingest_job", "daily_ingest_job"}
    assert jobs["daily_ingest_job"].partition_key == "2024-03-13"
    assert jobs["weekly_ingest_job"].partition_key == "2024-03-09"
    assert all(r.tags[AS_OF_TAG] == "2024-03-13" for r in result.run_requests)
    assert all(k.path[1] == "eia" for r in result.run_requests for k in r.asset_selection)


def test_a_late_release_is_asked_for_again_until_it_is_out():
    out = {"yes": False}
    partitions = configured_partitions(get_settings())
    sensor_def = release_sensor(
        "cboe",
        [("daily_ingest_job", [AssetKey(["bronze", "cboe", "index_history"])], "daily")],
        [ingest_jobs(partitions)["daily"]],
        partitions,
        clock=lambda _settings: _ny(2024, 3, 13, 16, 20),
        probe=lambda release, now: out["yes"],
    )
    cursor = ReleaseCursor(last=_ny(2024, 3, 12, 16, 15)).model_dump_json()
    resources = {"settings": SettingsResource.from_settings(get_settings())}
    waiting = sensor_def(build_sensor_context(cursor=cursor, resources=resources))
    assert isinstance(waiting, SkipReason) and "2024-03-13T20:15" in waiting.skip_message
    out["yes"] = True
    result = sensor_def(build_sensor_context(cursor=cursor, resources=resources))
    assert [r.tags[AS_OF_TAG] for r in result.run_requests] == ["2024-03-13"]


def test_release_as_of_day_is_the_new_york_day():
    # 06:00 UTC is still the same New York day; a 20:00 ET instant is the next UTC day but the same NY day.
    assert Release(datetime(2024, 3, 14, 0, 30, tzinfo=UTC), "x").as_of == date(2024, 3, 13)


def test_a_release_ingest_runs_its_quality_suite_and_calendar_freshness_but_not_dbt(tmp_path, monkeypatch):
    """dbt source freshness (a dbt process) runs on its own half-hour ticks, never inside a release's ingest."""
    clock_file = tmp_path / "clock.json"
    monkeypatch.setenv("NEXUS_PUBLISHER_CLOCK_FILE", str(clock_file))
    PublisherClock(clock_file).set(_ny(2024, 6, 26, 16, 20))
    (request,) = _tick("cboe_release", None).run_requests
    checks = {(k.asset_key.to_user_string(), k.name) for k in request.asset_check_keys}
    assert checks == {
        ("silver/cboe/index_closes", "silver_cboe_index_closes_suite"),
        ("silver/cboe/index_closes", "fresh_per_release_calendar"),
    }
    # the run the daemon builds from the request (it failed on a non-subsettable check before)
    job = defs.resolve_job_def(request.job_name)
    subset = job.get_subset(
        asset_selection=set(request.asset_selection), asset_check_selection=set(request.asset_check_keys)
    )
    assert {k.name for k in subset.asset_layer.asset_graph.asset_check_keys} >= {"silver_cboe_index_closes_suite"}
