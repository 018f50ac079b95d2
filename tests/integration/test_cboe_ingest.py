"""The Cboe path end to end below Dagster: fetch or read, bronze, parse, quarantine or silver."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from resources.errors import BadRowsError, EmptyPayloadError, NotTabularError, SchemaMismatchError
from resources.lake.bronze import MANIFEST, read_payload
from resources.lake.delta import content_hash, read_table
from resources.lake.quarantine import QUARANTINE
from resources.simulated.cboe import history, restatements
from resources.sources.cboe.ingest import ingest_cboe
from resources.sources.cboe.spec import INDEX_CLOSES
from tests.conftest import data_lines

GOOD = "DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2024,13,14,12,13.5\n01/03/2024,14,15,13,14.2\n"


def _write(tmp_path: Path, text: str | bytes, name: str = "VIX_History.csv") -> Path:
    path = tmp_path / "files" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_simulated_ingest_is_idempotent(storage, settings):
    first = ingest_cboe(storage, settings, run_id="r1", start=date(2022, 1, 1), end=date(2023, 6, 30))
    expected = sum(
        len(history(settings.seed, s, date(2023, 6, 30)).loc["2022-01-01":]) for s in ("VIX", "VIX3M", "VIX9D", "SKEW")
    )
    assert (first.added, first.revised, first.failed) == (expected, 0, [])
    before = content_hash(read_table(storage, INDEX_CLOSES))
    manifest_before = read_table(storage, MANIFEST).num_rows
    second = ingest_cboe(storage, settings, run_id="r2", start=date(2022, 1, 1), end=date(2023, 6, 30))
    assert (second.added, second.revised) == (0, 0)
    assert content_hash(read_table(storage, INDEX_CLOSES)) == before
    assert read_table(storage, MANIFEST).num_rows == manifest_before


def test_a_restatement_is_kept_as_a_new_version(storage, settings):
    early, late = date(2023, 3, 31), date(2023, 12, 29)
    restated = [r for r in restatements(settings.seed, "VIX") if early < r.effective <= late and r.observed <= early]
    assert restated, "the simulated publisher restates some VIX closes between the two downloads"
    ingest_cboe(storage, settings, run_id="r1", start=date(2023, 1, 1), end=early)
    report = ingest_cboe(storage, settings, run_id="r2", start=date(2023, 1, 1), end=late)
    assert report.revised >= len({r.observed for r in restated})
    rows = read_table(storage, INDEX_CLOSES).to_pandas()
    target = restated[0].observed
    versions = rows[(rows.index_symbol == "VIX") & (rows.observed_date == target)].sort_values("version")
    assert list(versions.version) == [1, 2] or len(versions) > 2
    assert versions.close.iloc[0] == pytest.approx(history(settings.seed, "VIX", early).loc[str(target), "CLOSE"])
    assert versions.close.iloc[-1] == pytest.approx(history(settings.seed, "VIX", late).loc[str(target), "CLOSE"])
    # the old version stays as it was known; the new one is known from the later download
    assert versions.available_at.iloc[0] < versions.available_at.iloc[-1]
    assert versions.available_at.iloc[-1] >= datetime.combine(early, datetime.min.time(), tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "error", "row"),
    [
        ("DATE,OPEN,HIGH,LOW\n01/02/2024,1,2,3\n", SchemaMismatchError, 1),
        (GOOD + "01/04/2024,1,2,0.5,n/a\n", BadRowsError, 4),
        (GOOD + "01/02/2024,1,2,0.5,9\n", BadRowsError, 4),
        ("DATE,OPEN,HIGH,LOW,CLOSE\n", EmptyPayloadError, 1),
        ("<html><body>Access denied</body></html>", NotTabularError, None),
    ],
    ids=["missing-column", "non-numeric", "duplicate-date", "no-rows", "html"],
)
def test_bad_files_land_nothing_in_silver(storage, settings, tmp_path, text, error, row):
    path = _write(tmp_path, text)
    with pytest.raises(error) as err:
        ingest_cboe(storage, settings, run_id="bad", end=None, files=[path])
    assert err.value.source == "cboe" and err.value.location == str(path)
    assert str(path) in str(err.value)
    if row is not None:
        assert err.value.row == row
    assert read_table(storage, INDEX_CLOSES).num_rows == 0
    manifest = read_table(storage, MANIFEST).to_pandas()
    assert read_payload(storage, manifest.sha256.iloc[0]) == path.read_bytes()
    quarantined = read_table(storage, QUARANTINE).to_pandas()
    assert len(quarantined) >= 1
    assert set(quarantined.location) == {str(path)} and set(quarantined.source) == {"cboe"}
    if row is not None:
        assert row in set(quarantined.row_number)


def test_one_bad_file_does_not_block_the_good_ones(storage, settings, tmp_path):
    good = _write(tmp_path, GOOD, "VIX3M_History.csv")
    bad = _write(tmp_path, GOOD + "01/04/2024,1,2,0.5,oops\n", "VIX_History.csv")
    with pytest.raises(BadRowsError):
        ingest_cboe(storage, settings, run_id="mixed", end=None, files=[good, bad])
    rows = read_table(storage, INDEX_CLOSES).to_pandas()
    assert set(rows.index_symbol) == {"VIX3M"} and len(rows) == 2


@pytest.mark.real_data
def test_every_real_cboe_file_loads(storage, settings, real_data):
    report = ingest_cboe(storage, settings, run_id="real", end=None, files=[real_data / "cboe"])
    rows = read_table(storage, INDEX_CLOSES).to_pandas()
    for symbol in ("VIX", "VIX3M", "VIX9D", "SKEW"):
        assert (rows.index_symbol == symbol).sum() == data_lines(real_data / "cboe" / f"{symbol}_History.csv")
    assert report.added == len(rows)
    assert rows[rows.index_symbol == "VIX3M"].observed_date.min() == date(2009, 9, 18)
    assert rows[rows.index_symbol == "VIX9D"].observed_date.min() == date(2011, 1, 4)
