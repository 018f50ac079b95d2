"""The FRED path below Dagster: simulated API and CSV downloads to bronze, quarantine or silver, with vintages."""

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
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
from resources.quality.suites import validate
from resources.settings import Settings
from resources.simulated.fred import vintage_rows, write_files
from resources.sources.fred.ingest import ingest_fred
from resources.sources.fred.spec import OBSERVATIONS, OBSERVATIONS_QUALITY, SERIES, SERIES_QUALITY

SERIES_IDS = ("SP500", "DGS10", "T10Y2Y", "DEXUSEU", "DTWEXBGS")
GOOD = "observation_date,DGS10\n2024-01-02,3.95\n2024-01-03,3.91\n"


def _expected(seed: int, as_of: date, start: date, end: date, series_ids=SERIES_IDS) -> tuple[int, int]:
    """(first releases, later vintages) the publisher shows at the end of `as_of` for dates in [start, end]."""
    firsts = later = 0
    for series_id in series_ids:
        rows = vintage_rows(seed, series_id, as_of)
        rows = rows[(rows["date"] >= pd.Timestamp(start)) & (rows["date"] <= pd.Timestamp(end))]
        n_first = rows["date"].nunique()
        firsts, later = firsts + n_first, later + len(rows) - n_first
    return firsts, later


def _write(tmp_path: Path, text: str | bytes, name: str = "DGS10.csv") -> Path:
    path = tmp_path / "files" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_simulated_ingest_is_idempotent(storage, settings):
    start, end = date(2022, 1, 1), date(2023, 6, 30)
    observations, series = ingest_fred(storage, settings, run_id="r1", start=start, end=end, series=SERIES_IDS)
    firsts, later = _expected(settings.seed, end, start, end)
    assert later > 50, "DTWEXBGS revisions and SP500 corrections are in the history"
    assert (observations.added, observations.revised, observations.failed) == (firsts, later, [])
    assert (series.added, series.failed) == (len(SERIES_IDS), [])
    before = {spec.name: content_hash(read_table(storage, spec)) for spec in (OBSERVATIONS, SERIES)}
    manifest_before = read_table(storage, MANIFEST).num_rows
    again, series_again = ingest_fred(storage, settings, run_id="r2", start=start, end=end, series=SERIES_IDS)
    assert (again.added, again.revised, series_again.added, series_again.revised) == (0, 0, 0, 0)
    assert again.unchanged == firsts + later
    assert {spec.name: content_hash(read_table(storage, spec)) for spec in (OBSERVATIONS, SERIES)} == before
    assert read_table(storage, MANIFEST).num_rows == manifest_before


def test_a_later_vintage_adds_rows_and_leaves_earlier_vintages_untouched(storage, settings):
    start, early, late = date(2023, 1, 1), date(2023, 6, 30), date(2023, 9, 29)
    ingest_fred(storage, settings, run_id="r1", start=start, end=early, series=SERIES_IDS)
    first_load = read_table(storage, OBSERVATIONS).to_pandas()
    report, series = ingest_fred(storage, settings, run_id="r2", start=start, end=late, series=SERIES_IDS)
    rows = read_table(storage, OBSERVATIONS).to_pandas()

    # nothing of the first load changed, column for column (ingested_at and source included)
    keys = ["series_id", "observation_date", "realtime_start", "version"]
    kept = rows.merge(first_load[keys], on=keys).sort_values(keys).reset_index(drop=True)
    assert kept.equals(first_load.sort_values(keys).reset_index(drop=True))

    # the second load added the vintages published after `early`: new observations and revisions of known ones
    new_rows = len(rows) - len(first_load)
    firsts_late, later_late = _expected(settings.seed, late, start, late)
    firsts_early, later_early = _expected(settings.seed, early, start, early)
    assert report.added + report.revised == new_rows
    assert (report.added, report.revised) == (firsts_late - firsts_early, later_late - later_early)
    assert series.revised == len(SERIES_IDS)  # observation_end and last_updated moved on

    broad = vintage_rows(settings.seed, "DTWEXBGS", late)
    both = broad[broad.duplicated("date", keep=False) & (broad["date"] <= pd.Timestamp(early))]
    revised_date = both["date"].max().date()
    assert both["realtime_start"].max() > pd.Timestamp(early), "a DTWEXBGS value known at `early` was revised later"
    versions = rows[(rows.series_id == "DTWEXBGS") & (rows.observation_date == revised_date)].sort_values(
        "realtime_start"
    )
    assert len(versions) == 2 and list(versions.version) == [1, 1] and versions.value.nunique() == 2
    assert versions.realtime_start.iloc[1] > early
    assert versions.available_at.iloc[1] == pd.Timestamp(
        datetime.combine(versions.realtime_start.iloc[1], datetime.min.time()) + timedelta(hours=21), tz=UTC
    )  # 17:00 EDT on the vintage date
    first_version = first_load[(first_load.series_id == "DTWEXBGS") & (first_load.observation_date == revised_date)]
    assert first_version.value.tolist() == [versions.value.iloc[0]]


def test_the_quality_suites_pass_on_simulated_data(storage, settings):
    ingest_fred(storage, settings, run_id="r1", start=date(2023, 1, 1), end=date(2023, 12, 29), series=SERIES_IDS)
    for spec, suite in ((OBSERVATIONS, OBSERVATIONS_QUALITY), (SERIES, SERIES_QUALITY)):
        outcome = validate(read_table(storage, spec).to_pandas(), suite)
        assert outcome.success, outcome.failures


@pytest.mark.real_data
def test_every_real_fred_download_loads(storage, settings, real_data):
    folder = real_data / "fred"
    (observations,) = ingest_fred(storage, settings, run_id="real", start=None, end=None, files=[folder])
    rows = read_table(storage, OBSERVATIONS).to_pandas()
    expected: dict[str, set[str]] = {}
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="") as handle:
            data = [r for r in csv.reader(handle) if any(c.strip() for c in r)]
        expected.setdefault(data[0][1], set()).update(r[0] for r in data[1:])
    assert rows.groupby("series_id").size().to_dict() == {s: len(d) for s, d in expected.items()}
    assert observations.added == len(rows) and observations.revised == 0
    assert observations.unchanged == 52  # the two DCOILWTICO downloads overlap on 52 equal days
    assert rows.vintage_inferred.all() and rows.available_at_derived.all() and (rows.version == 1).all()
    outcome = validate(rows, OBSERVATIONS_QUALITY)
    assert outcome.success, outcome.failures


@pytest.mark.parametrize(
    ("text", "error", "row"),
    [
        ("observation_date,DGS2\n2024-01-02,3.95\n", SchemaMismatchError, 1),
        ("obs_date,DGS10\n2024-01-02,3.95\n", SchemaMismatchError, 1),
        ("observation_date\n2024-01-02\n", SchemaMismatchError, 1),
        (GOOD + "2024-01-04,4.x\n", BadRowsError, 4),
        (GOOD + "2024-01-02,3.99\n", BadRowsError, 4),
        ("observation_date,DGS10\n", EmptyPayloadError, 1),
        ("", NotTabularError, None),
        ("<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", NotTabularError, None),
        (GOOD + "2024-01-04,3.8\n2024-01", TruncatedPayloadError, 5),
    ],
    ids=[
        "renamed-column",
        "renamed-date",
        "missing-column",
        "non-numeric",
        "duplicate",
        "no-rows",
        "empty",
        "html",
        "truncated",
    ],
)
def test_bad_files_land_nothing_in_silver(storage, settings, tmp_path, text, error, row):
    path = _write(tmp_path, text)
    with pytest.raises(error) as err:
        ingest_fred(storage, settings, run_id="bad", start=None, end=None, files=[path])
    assert (err.value.source, err.value.dataset, err.value.location) == ("fred", "DGS10", str(path))
    assert str(path) in str(err.value) and "dataset=DGS10" in str(err.value)
    if row is not None:
        assert err.value.row == row
    assert read_table(storage, OBSERVATIONS).num_rows == 0
    manifest = read_table(storage, MANIFEST).to_pandas()
    assert read_payload(storage, manifest.sha256.iloc[0]) == path.read_bytes()
    quarantined = read_table(storage, QUARANTINE).to_pandas()
    assert len(quarantined) >= 1 and set(quarantined.location) == {str(path)} and set(quarantined.source) == {"fred"}
    if row is not None:
        assert row in set(quarantined.row_number)


def test_missing_markers_load_as_nulls(storage, settings, tmp_path):
    old = _write(tmp_path, "DATE,DGS10\n2024-01-01,.\n2024-01-02,3.95\n", "DGS10_old_layout.csv")
    new = _write(tmp_path, "observation_date,DGS10\r\n2024-01-01,\r\n2024-01-02,3.95\r\n2024-01-03,NA", "DGS10.csv")
    (report,) = ingest_fred(storage, settings, run_id="m", start=None, end=None, files=[old, new])
    rows = read_table(storage, OBSERVATIONS).to_pandas().sort_values("observation_date")
    assert rows.value.isna().tolist() == [True, False, True]
    assert (report.added, report.unchanged) == (3, 2)


def test_a_later_download_with_a_changed_value_is_a_new_version(storage, settings, tmp_path):
    older = _write(tmp_path, "DATE,DTWEXBGS\n2024-01-02,102.2557\n", "DTWEXBGS_old_layout.csv")
    newer = _write(tmp_path, "observation_date,DTWEXBGS\n2024-01-02,102.2090\n2024-01-03,102.2547\n", "DTWEXBGS.csv")
    started = datetime.now(UTC)
    (report,) = ingest_fred(storage, settings, run_id="d", start=None, end=None, files=[newer, older])
    assert (report.added, report.revised) == (2, 1)
    rows = read_table(storage, OBSERVATIONS).to_pandas()
    day = rows[rows.observation_date == date(2024, 1, 2)].sort_values("version")
    assert day.value.tolist() == [102.2557, 102.2090] and day.is_revision.tolist() == [False, True]
    assert day.realtime_start.nunique() == 1 and day.available_at.iloc[0] == pd.Timestamp("2024-01-08 22:00", tz=UTC)
    assert day.available_at.iloc[1] >= started  # a value seen only in a download is known from when it was read


def test_one_bad_file_does_not_block_the_good_ones(storage, settings, tmp_path):
    good = _write(tmp_path, "observation_date,DGS2\n2024-01-02,4.33\n", "DGS2.csv")
    bad = _write(tmp_path, GOOD + "2024-01-04,oops\n", "DGS10.csv")
    with pytest.raises(BadRowsError):
        ingest_fred(storage, settings, run_id="mixed", start=None, end=None, files=[good, bad])
    rows = read_table(storage, OBSERVATIONS).to_pandas()
    assert set(rows.series_id) == {"DGS2"} and len(rows) == 1


def test_simulated_downloads_load_in_files_mode(storage, settings, tmp_path):
    as_of = date(2023, 3, 31)
    write_files(tmp_path / "fred", settings.seed, as_of)
    files_mode = Settings(source_mode="files", files_dir=tmp_path)
    reports = ingest_fred(storage, files_mode, run_id="f", start=date(2023, 1, 1), end=as_of)
    released = sum(
        vintage_rows(settings.seed, s, as_of).query("date >= '2023-01-01'")["date"].nunique()
        for s in ("SP500", "NASDAQ100", "DGS10", "DGS2", "DGS3MO", "T10Y2Y", "T10Y3M", "DEXUSEU", "DEXJPUS", "DTWEXBGS")
    )
    assert [r.table for r in reports] == ["fred/observations"]  # a download has no metadata
    assert reports[0].added == released and reports[0].unchanged == released  # each series in both layouts
