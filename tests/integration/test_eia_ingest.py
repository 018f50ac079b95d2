"""The EIA path end to end below Dagster: fetch or read, bronze, parse, quarantine or silver, for both tables."""

import csv
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from resources.errors import (
    BadRowsError,
    EmptyPayloadError,
    NotTabularError,
    SchemaMismatchError,
    TruncatedPayloadError,
)
from resources.lake.bronze import MANIFEST, read_payload
from resources.lake.delta import content_hash, read_table
from resources.lake.quarantine import QUARANTINE
from resources.simulated.eia import base_values, published, revisions, write_files
from resources.sources.base import IngestFailedError
from resources.sources.eia.ingest import ingest, ingest_cadences
from resources.sources.eia.spec import DAILY_PRICES, SERIES, WEEKLY_SERIES

START, END = date(2023, 1, 1), date(2024, 6, 28)
HEADER = "Week of,Weekly U.S. Ending Stocks excluding SPR of Crude Oil Thousand Barrels"
GOOD = "\n".join(
    [
        "Weekly U.S. Ending Stocks excluding SPR of Crude Oil",
        "https://www.eia.gov/dnav/pet/hist/LeafHandler.ashx?n=PET&s=WCESTUS1&f=W",
        "11:11:14 GMT+0200 (hora de verano de Europa central)",
        "Data source: U.S. Energy Information Administration",
        HEADER,
        "08/30/2024,418310",
        "08/23/2024,425183",
    ]
)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(22, 0), tzinfo=UTC)


def _write(tmp_path: Path, text: str | bytes, name: str = "Weekly_Crude.csv") -> Path:
    path = tmp_path / "files" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _expected(seed: int, cadence: str, start: date, end: date) -> int:
    return sum(
        int((published(seed, s.id, _at(end)).index >= start).sum()) for s in SERIES.values() if s.cadence == cadence
    )


def test_simulated_ingest_is_idempotent(storage, settings):
    weekly, daily = ingest(storage, settings, run_id="r1", start=START, end=END)
    assert (weekly.table, daily.table) == ("eia/weekly_series", "eia/daily_prices")
    assert (weekly.added, weekly.revised, weekly.failed) == (_expected(settings.seed, "weekly", START, END), 0, [])
    assert (daily.added, daily.revised, daily.failed) == (_expected(settings.seed, "daily", START, END), 0, [])
    before = [content_hash(read_table(storage, spec)) for spec in (WEEKLY_SERIES, DAILY_PRICES)]
    manifest_before = read_table(storage, MANIFEST).num_rows
    again = ingest(storage, settings, run_id="r2", start=START, end=END)
    assert [(r.added, r.revised) for r in again] == [(0, 0), (0, 0)]
    assert [content_hash(read_table(storage, spec)) for spec in (WEEKLY_SERIES, DAILY_PRICES)] == before
    assert read_table(storage, MANIFEST).num_rows == manifest_before


def test_an_older_then_a_newer_download_keeps_both_versions(storage, settings):
    # the first download is the day before the first revision after START is released
    first = min(
        (
            (base_values(settings.seed, e.series_id).loc[e.released_with, "released_at"], e)
            for s in SERIES.values()
            for e in revisions(settings.seed, s.id)
            if e.period >= START
        ),
        key=lambda pair: pair[0],
    )
    early, late = first[0].date() - timedelta(days=1), END
    revised = set()
    for s in SERIES.values():
        released = base_values(settings.seed, s.id)["released_at"]
        for e in revisions(settings.seed, s.id):
            if START <= e.period <= early and _at(early) < released.loc[e.released_with] <= _at(late):
                revised.add((s.id, e.period))
    assert revised, "the simulated publisher revises some weeks between the two downloads"
    ingest_cadences(storage, settings, ("weekly",), run_id="r1", start=START, end=early)
    [report] = ingest_cadences(storage, settings, ("weekly",), run_id="r2", start=START, end=late)
    assert report.revised == len(revised)
    rows = read_table(storage, WEEKLY_SERIES).to_pandas()
    series_id, period = sorted(revised)[0]
    versions = rows[(rows.series_id == series_id) & (rows.period == period)].sort_values("version")
    assert list(versions.version) == [1, 2] and list(versions.is_revision) == [False, True]
    assert versions.value.iloc[0] == published(settings.seed, series_id, _at(early)).loc[period]
    assert versions.value.iloc[1] == published(settings.seed, series_id, _at(late)).loc[period]
    # the first version keeps its release time; the revision is known from the download that carried it
    assert versions.available_at.iloc[0] < versions.available_at.iloc[1]
    assert versions.available_at.iloc[1] >= _at(early)
    assert (rows.groupby(["series_id", "period"]).version.max() > 1).sum() == len(revised)


def _file_rows(path: Path) -> int:
    """Data rows of a download CSV, counted with the csv module: every non-empty row after the column header."""
    with path.open(newline="") as handle:
        lines = list(csv.reader(handle))
    header = next(i for i, row in enumerate(lines) if row and row[0] in ("Week of", "Day"))
    return sum(1 for row in lines[header + 1 :] if row)


@pytest.mark.real_data
def test_every_real_eia_file_loads(storage, settings, real_data):
    weekly, daily = ingest(storage, settings, run_id="real", start=None, end=None, files=[real_data / "eia"])
    folder = real_data / "eia"
    weekly_rows = read_table(storage, WEEKLY_SERIES).to_pandas()
    daily_rows = read_table(storage, DAILY_PRICES).to_pandas()
    counts = {**weekly_rows.series_id.value_counts().to_dict(), **daily_rows.series_id.value_counts().to_dict()}
    assert counts == {
        "WCESTUS1": _file_rows(folder / "Weekly_U.S._Ending_Stocks_excluding_SPR_of_Crude_Oil.csv"),
        "NW2_EPG0_SWO_R48_BCF": _file_rows(folder / "Weekly_Working_Gas_in_Underground_Storage.csv"),
        "RNGWHHD": _file_rows(folder / "Henry_Hub_Natural_Gas_Spot_Price.csv"),
    }
    assert weekly.added == len(weekly_rows) and daily.added == len(daily_rows)
    assert weekly_rows[weekly_rows.series_id == "WCESTUS1"].period.min() == date(1982, 8, 20)


def test_files_and_api_of_the_same_state_are_the_same_rows(storage, settings, tmp_path):
    files = write_files(tmp_path / "eia", settings.seed, END)
    reports = ingest(storage, settings, run_id="files", start=START, end=END, files=files)
    assert [r.added for r in reports] == [_expected(settings.seed, c, START, END) for c in ("weekly", "daily")]
    again = ingest(storage, settings, run_id="api", start=START, end=END)
    assert [(r.added, r.revised) for r in again] == [(0, 0), (0, 0)]


def test_missing_markers_load_as_nulls(storage, settings, tmp_path):
    path = _write(tmp_path, GOOD + "\n08/16/2024,\n08/9/2024,NA")
    [weekly, _] = ingest(storage, settings, run_id="na", start=None, end=None, files=[path])
    rows = read_table(storage, WEEKLY_SERIES).to_pandas().set_index("period")
    assert weekly.added == 4 and rows.value.isna().sum() == 2


@pytest.mark.parametrize(
    ("text", "error", "row"),
    [
        (GOOD.replace("Week of,", "Week,"), SchemaMismatchError, 5),
        (GOOD.replace(HEADER, "Week of"), SchemaMismatchError, 5),
        (GOOD.replace("s=WCESTUS1&", ""), SchemaMismatchError, 2),
        (GOOD + "\n08/16/2024,n/a?", BadRowsError, 8),
        (GOOD + "\n08/23/2024,1", BadRowsError, 8),
        ("\n".join(GOOD.split("\n")[:5]), EmptyPayloadError, 5),
        ("<html><body>Access denied</body></html>", NotTabularError, None),
        (GOOD + "\n08/16/20", TruncatedPayloadError, 8),
        ("", NotTabularError, None),
    ],
    ids=[
        "renamed-column",
        "missing-column",
        "unknown-series",
        "non-numeric",
        "duplicate",
        "no-rows",
        "html",
        "cut",
        "empty",
    ],
)
def test_bad_files_land_nothing_in_silver(storage, settings, tmp_path, text, error, row):
    path = _write(tmp_path, text)
    with pytest.raises(error) as err:
        ingest(storage, settings, run_id="bad", start=None, end=None, files=[path])
    assert err.value.source == "eia" and err.value.location == str(path) and str(path) in str(err.value)
    assert err.value.row == row
    assert err.value.dataset
    assert read_table(storage, WEEKLY_SERIES).num_rows == 0 and read_table(storage, DAILY_PRICES).num_rows == 0
    manifest = read_table(storage, MANIFEST).to_pandas()
    assert read_payload(storage, manifest.sha256.iloc[0]) == path.read_bytes()
    quarantined = read_table(storage, QUARANTINE).to_pandas()
    assert len(quarantined) >= 1
    assert set(quarantined.location) == {str(path)} and set(quarantined.source) == {"eia"}
    if row is not None:
        assert row in set(quarantined.row_number)


def test_one_bad_file_does_not_block_the_good_ones(storage, settings, tmp_path):
    files = write_files(tmp_path / "eia", settings.seed, date(2016, 3, 31))
    bad = _write(tmp_path, GOOD + "\n08/16/2024,oops")
    cut = _write(tmp_path, b"Day,Henry Hub Natural Gas Spot Price Dollars per Million Btu\n01/05/2016,2.1", "HH.csv")
    with pytest.raises(IngestFailedError) as err:
        ingest(storage, settings, run_id="mixed", start=date(2016, 1, 1), end=None, files=[*files, bad, cut])
    assert {type(e) for e in err.value.errors} == {BadRowsError, SchemaMismatchError}
    weekly = read_table(storage, WEEKLY_SERIES).to_pandas()
    daily = read_table(storage, DAILY_PRICES).to_pandas()
    assert set(weekly.series_id) == {s.id for s in SERIES.values() if s.cadence == "weekly"}
    assert len(daily) == _expected(settings.seed, "daily", date(2016, 1, 1), date(2016, 3, 31))
    assert weekly[weekly.series_id == "WCESTUS1"].period.max() < date(2016, 4, 1)  # nothing of the bad file
