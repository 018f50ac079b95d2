"""Parity: silver rebuilt from bronze by the Spark engine equals the local engine's, bitemporal columns included.

Both engines run on one lake in turn (each replaces the tables it rebuilds), so every comparison is between two
backfills of the same bronze payloads with the same backfill time. The local engine is the nightly landing
function itself, so equality also ties the Spark merge to `merge_versioned`.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from resources.errors import SourceDataError
from resources.lake.delta import content_hash, read_table
from resources.lake.quarantine import QUARANTINE
from resources.sources.coinmetrics.ingest import ingest_coinmetrics
from resources.sources.cot.ingest import ingest_cot
from resources.sources.fred.ingest import ingest_fred
from resources.spark.backfill import backfill_local
from resources.spark.plans import plans_for
from resources.spark.spark_job import backfill_spark

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
BAD_CSV = "observation_date,DGS10\n2024-01-02,3.95\n2024-01-03,not-a-number\n"


def _silver(storage, source: str) -> dict[str, str]:
    return {p.spec.name: content_hash(read_table(storage, p.spec)) for p in plans_for(source)}


def _both_engines(spark, storage, source: str, **window) -> tuple[dict[str, str], dict[str, str], object, object]:
    local = backfill_local(storage, source, run_id="local", ingested_at=AT, **window)
    by_local = _silver(storage, source)
    on_spark = backfill_spark(spark, storage, source, run_id="spark", ingested_at=AT, **window)
    return by_local, _silver(storage, source), local, on_spark


def _land(fn, *args, **kwargs) -> None:
    with contextlib.suppress(SourceDataError):  # bad payloads land in bronze and quarantine, good ones in silver
        fn(*args, **kwargs)


@pytest.mark.slow
def test_fred_parity_on_a_simulated_lake_with_revisions_and_a_bad_file(spark, storage, settings, tmp_path):
    series = ("DGS10", "T10Y2Y")
    ingest_fred(storage, settings, run_id="n1", start=date(2023, 1, 1), end=date(2023, 6, 30), series=series)
    ingest_fred(storage, settings, run_id="n2", start=date(2023, 1, 1), end=date(2023, 12, 29), series=series)
    bad = tmp_path / "files" / "DGS10.csv"
    bad.parent.mkdir()
    bad.write_text(BAD_CSV)
    _land(ingest_fred, storage, settings, run_id="n3", start=None, end=None, files=[bad])
    nightly = {p.spec.name: read_table(storage, p.spec) for p in plans_for("fred")}

    by_local, by_spark, local, on_spark = _both_engines(spark, storage, "fred")
    assert by_spark == by_local
    assert [t.rows for t in on_spark.tables] == [t.rows for t in local.tables]
    assert on_spark.tables[0].quarantined_payloads == 1 and len(on_spark.errors) == 1
    observations = read_table(storage, plans_for("fred")[0].spec)
    assert observations.num_rows > 300 and max(observations["version"].to_pylist()) >= 1
    for name, table in nightly.items():  # and both equal what the nightly path built, but for ingested_at
        rebuilt = read_table(storage, next(p.spec for p in plans_for("fred") if p.spec.name == name))
        assert content_hash(rebuilt, exclude=("ingested_at",)) == content_hash(table, exclude=("ingested_at",))
    assert read_table(storage, QUARANTINE).num_rows >= 1

    # a partial backfill replaces only the rows dated in its window, on either engine
    window = {"start": date(2023, 3, 1), "end": date(2023, 3, 31)}
    by_local, by_spark, *_ = _both_engines(spark, storage, "fred", **window)
    assert by_spark == by_local


@pytest.mark.slow
@pytest.mark.real_data
def test_parity_on_the_real_publisher_files(spark, storage, settings, real_data: Path):
    _land(ingest_fred, storage, settings, run_id="f", start=None, end=None, files=[real_data / "fred"])
    _land(ingest_coinmetrics, storage, settings, run_id="c", start=None, end=None, files=[real_data / "coinmetrics"])
    folder = real_data / "cot"
    cot = [folder / "legacy_futures_only" / "annual_2024_to_0123.txt", folder / "disaggregated_futures_only"]
    cot.append(folder / "tff_futures_only" / "FinFut_2024.txt")
    _land(ingest_cot, storage, settings, run_id="t", start=None, end=None, files=cot)
    for source in ("fred", "coinmetrics", "cot"):
        by_local, by_spark, local, on_spark = _both_engines(spark, storage, source)
        assert by_spark == by_local, source
        assert on_spark.rows == local.rows > 0, source
        assert on_spark.delta_engine == "delta-rs"
