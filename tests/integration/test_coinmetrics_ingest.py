"""The Coin Metrics path end to end below Dagster: fetch or read, bronze, parse, quarantine or silver."""

import csv
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
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
from resources.simulated.coinmetrics import history, restatements, write_files
from resources.simulated.world import PLANTED_EFFECTS
from resources.sources.coinmetrics.ingest import ingest, ingest_coinmetrics, universe_request
from resources.sources.coinmetrics.spec import ASSET_METRICS, DEFAULT_METRICS, QUALITY
from resources.universe import default_universe

GOOD = "time,PriceUSD,CapRealUSD\n2024-01-02,45000.5,1.2e11\n2024-01-03,44000.1,1.21e11\n"


def _write(tmp_path: Path, text: str | bytes, name: str = "btc.csv") -> Path:
    path = tmp_path / "files" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _expected_cells(seed: int, as_of: date, start: date) -> int:
    total = 0
    for asset in ("btc", "eth"):
        frame = history(seed, asset, as_of).loc[pd.Timestamp(start) :]
        total += int(frame[[m for m in DEFAULT_METRICS if m in frame.columns]].notna().sum().sum())
    return total


def test_the_universe_asks_for_btc_and_eth_and_its_metrics():
    assets, metrics = universe_request(default_universe())
    assert assets == ("btc", "eth")
    assert metrics == DEFAULT_METRICS


def test_simulated_ingest_is_idempotent(storage, settings):
    start, end = date(2022, 1, 1), date(2023, 6, 30)
    first = ingest_coinmetrics(storage, settings, run_id="r1", start=start, end=end)
    assert (first.added, first.revised, first.failed) == (_expected_cells(settings.seed, end, start), 0, [])
    rows = read_table(storage, ASSET_METRICS).to_pandas()
    assert rows.observed_date.max() == date(2023, 6, 29)  # the as-of day is published the next UTC morning
    assert set(rows[rows.asset == "eth"].metric) == set(DEFAULT_METRICS) - {"HashRate"}
    before = content_hash(read_table(storage, ASSET_METRICS))
    manifest_before = read_table(storage, MANIFEST).num_rows
    second = ingest_coinmetrics(storage, settings, run_id="r2", start=start, end=end)
    assert (second.added, second.revised, second.unchanged) == (0, 0, first.added)
    assert content_hash(read_table(storage, ASSET_METRICS)) == before
    assert read_table(storage, MANIFEST).num_rows == manifest_before


def test_a_restatement_is_kept_as_a_new_version(storage, settings):
    event = next(r for r in restatements(settings.seed, "btc") if r.effective.year == 2023)
    early, late = event.effective - timedelta(days=1), event.effective + timedelta(days=30)
    restated = [r for r in restatements(settings.seed, "btc") if early < r.effective <= late and r.observed < early]
    start = min(r.observed for r in restated) - timedelta(days=30)
    ingest_coinmetrics(storage, settings, run_id="r1", start=start, end=early)
    report = ingest_coinmetrics(storage, settings, run_id="r2", start=start, end=late)
    # realized cap and MVRV of every restated day get a new version; price does not
    assert report.revised >= 2 * len({r.observed for r in restated})
    rows = read_table(storage, ASSET_METRICS).to_pandas()
    target = restated[0].observed
    cell = rows[(rows.asset == "btc") & (rows.metric == "CapRealUSD") & (rows.observed_date == target)]
    cell = cell.sort_values("version")
    assert list(cell.version) == [1, 2] and list(cell.is_revision) == [False, True]
    assert cell.value.iloc[0] == pytest.approx(history(settings.seed, "btc", early).at[str(target), "CapRealUSD"])
    assert cell.value.iloc[1] == pytest.approx(history(settings.seed, "btc", late).at[str(target), "CapRealUSD"])
    # the first version was public the next UTC morning; the revision only once the later download saw it
    assert cell.available_at.iloc[0] == datetime.combine(target, time(6), tzinfo=UTC) + pd.Timedelta(days=1)
    assert cell.available_at.iloc[1] >= datetime.combine(restated[0].effective, time(0), tzinfo=UTC)
    price = rows[(rows.asset == "btc") & (rows.metric == "PriceUSD") & (rows.observed_date == target)]
    assert list(price.version) == [1]
    assert validate(rows, QUALITY).success


def test_files_mode_reads_what_the_api_serves(storage, settings, tmp_path):
    as_of = date(2021, 12, 31)
    write_files(tmp_path / "cm", settings.seed, as_of)
    ingest_coinmetrics(storage, settings, run_id="files", start=date(2021, 1, 1), end=as_of, files=[tmp_path / "cm"])
    from_files = read_table(storage, ASSET_METRICS).to_pandas()
    # the files hold every simulated metric (HashRate for btc too); compare the API's metrics
    assert set(from_files.metric) == set(DEFAULT_METRICS)
    api_storage = type(storage)(root_uri=str(tmp_path / "api_lake"))
    ingest_coinmetrics(api_storage, settings, run_id="api", start=date(2021, 1, 1), end=as_of)
    from_api = read_table(api_storage, ASSET_METRICS).to_pandas()
    key = ["asset", "metric", "observed_date"]
    merged = from_files.merge(from_api, on=key, suffixes=("_file", "_api"))
    assert len(merged) == len(from_api) == len(from_files)
    assert (merged.value_file == merged.value_api).all()


def test_files_mode_finds_only_community_files(storage, settings, tmp_path, monkeypatch):
    _write(tmp_path, GOOD, "btc.csv")
    _write(tmp_path, "observation_date,DGS10\n2024-01-02,4.0\n", "DGS10.csv")
    _write(tmp_path, "DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2024,1,2,0.5,1.5\n", "VIX_History.csv")
    monkeypatch.setenv("NEXUS_SOURCE_MODE", "files")
    monkeypatch.setenv("NEXUS_FILES_DIR", str(tmp_path / "files"))
    from resources.settings import get_settings

    [report] = ingest(storage, get_settings(), run_id="files", start=None, end=None)
    assert [p.dataset for p in report.payloads] == ["btc"] and report.added == 4


@pytest.mark.parametrize(
    ("text", "error", "row"),
    [
        ("date,Price\n2024-01-02,1\n", SchemaMismatchError, 1),
        ("tim,PriceUSD\n2024-01-02,1\n", SchemaMismatchError, 1),
        (GOOD + "2024-01-04,n/a?,1\n", BadRowsError, 4),
        (GOOD + "2024-01-02,1,1\n", BadRowsError, 4),
        (GOOD + "2024-01-04,46000", TruncatedPayloadError, 4),
        ("time,PriceUSD\n", EmptyPayloadError, 1),
        ("", NotTabularError, None),
        ("<html><body>Access denied</body></html>", NotTabularError, None),
    ],
    ids=[
        "renamed-column",
        "missing-date-column",
        "non-numeric",
        "duplicate-date",
        "truncated",
        "no-rows",
        "empty",
        "html",
    ],
)
def test_bad_files_land_nothing_in_silver(storage, settings, tmp_path, text, error, row):
    ingest_coinmetrics(storage, settings, run_id="good", end=None, files=[_write(tmp_path, GOOD, "eth.csv")])
    silver_before = content_hash(read_table(storage, ASSET_METRICS))
    path = _write(tmp_path, text)
    with pytest.raises(error) as err:
        ingest_coinmetrics(storage, settings, run_id="bad", end=None, files=[path])
    assert err.value.source == "coinmetrics" and err.value.dataset == "btc" and err.value.location == str(path)
    assert str(path) in str(err.value)
    if row is not None:
        assert err.value.row == row and f"row={row}" in str(err.value)
    assert content_hash(read_table(storage, ASSET_METRICS)) == silver_before
    manifest = read_table(storage, MANIFEST).to_pandas()
    bad = manifest[manifest.location == str(path)]
    assert read_payload(storage, bad.sha256.iloc[0]) == path.read_bytes()
    quarantined = read_table(storage, QUARANTINE).to_pandas()
    assert len(quarantined) >= 1
    assert set(quarantined.location) == {str(path)} and set(quarantined.source) == {"coinmetrics"}
    if row is not None:
        assert row in set(quarantined.row_number)


def test_one_bad_file_does_not_block_the_good_ones(storage, settings, tmp_path):
    good = _write(tmp_path, GOOD, "eth.csv")
    bad = _write(tmp_path, GOOD + "2024-01-04,1,oops\n", "btc.csv")
    with pytest.raises(BadRowsError):
        ingest_coinmetrics(storage, settings, run_id="mixed", end=None, files=[good, bad])
    rows = read_table(storage, ASSET_METRICS).to_pandas()
    assert set(rows.asset) == {"eth"} and len(rows) == 4


@pytest.mark.real_data
def test_the_real_btc_file_loads_every_cell(storage, settings, real_data):
    path = real_data / "coinmetrics" / "btc.csv"
    report = ingest_coinmetrics(storage, settings, run_id="real", end=None, files=[real_data / "coinmetrics"])
    rows = read_table(storage, ASSET_METRICS).to_pandas()
    with path.open(newline="") as handle:
        expected = Counter(m for r in csv.DictReader(handle) for m, v in r.items() if m != "date" and v != "")
    assert Counter(rows.metric) == expected
    assert report.added == len(rows) == sum(expected.values())
    assert set(rows.asset) == {"btc"}
    assert validate(rows, QUALITY).success


def test_the_planted_mvrv_effect_is_recoverable_from_silver(storage, settings):
    """High MVRV z-scores (as published, next UTC day) precede weaker 10-day returns (world.PLANTED_EFFECTS)."""
    effect = next(e for e in PLANTED_EFFECTS if e.name == "mvrv_mean_reversion")
    ingest_coinmetrics(storage, settings, run_id="effect", start=date(2016, 1, 1), end=date(2025, 12, 31))
    rows = read_table(storage, ASSET_METRICS, columns=["asset", "metric", "observed_date", "value", "version"])
    frame = rows.to_pandas()
    frame = frame.sort_values("version").drop_duplicates(["asset", "metric", "observed_date"], keep="first")
    slopes = []
    for asset in ("btc", "eth"):
        wide = frame[frame.asset == asset].pivot(index="observed_date", columns="metric", values="value")
        mvrv, price = wide["CapMVRVCur"], np.log(wide["PriceUSD"])
        # at day D the last published MVRV is D-1's; z against the year before it
        known = mvrv.shift(1)
        window = known.shift(1).rolling(365, min_periods=300)
        z = ((known - window.mean()) / window.std()).clip(-2.5, 2.5)
        forward = price.shift(-effect.horizon_days) - price
        data = pd.DataFrame({"z": z, "r": forward}).dropna().iloc[:: effect.horizon_days]
        slopes.append(np.polyfit(data.z, data.r, 1)[0])
    slope = float(np.mean(slopes))
    assert slope < 0
    assert abs(slope - effect.size) <= effect.tolerance
