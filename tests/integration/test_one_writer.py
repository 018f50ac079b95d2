"""One writer per table: a backfill and a nightly ingest started at the same moment lose no commit."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

from deltalake import DeltaTable

from resources.lake.delta import content_hash, read_table, table_uri
from resources.lake.storage import LakeStorage
from resources.lake.write_lock import source_write_lock
from resources.simulated.fred import write_files
from resources.sources.registry import ingest_source
from resources.spark.backfill import run_backfill
from resources.spark.plans import plans_for

EARLY, LATE = date(2023, 4, 28), date(2023, 8, 31)


def _downloads(folder: Path, seed: int, as_of: date) -> Path:
    """Two simulated FRED downloads as of `as_of` (files mode: no HTTP server to wait for on a busy machine)."""
    for path in write_files(folder, seed, as_of):
        if path.name not in ("DGS10.csv", "T10Y2Y.csv"):
            path.unlink()
    return folder


def test_a_backfill_and_a_nightly_ingest_at_once_lose_no_commit(storage, settings, tmp_path):
    night1 = _downloads(tmp_path / "night1", settings.seed, EARLY)
    night2 = _downloads(tmp_path / "night2", settings.seed, LATE)
    ingest_source("fred", storage, settings, run_id="n1", start=None, end=None, files=[night1])
    barrier, failures = threading.Barrier(2), []

    def backfill() -> None:
        barrier.wait()
        try:
            run_backfill(storage, "fred", engine="local", run_id="bf")
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    def nightly() -> None:
        barrier.wait()
        try:
            ingest_source("fred", storage, settings, run_id="n2", start=None, end=None, files=[night2])
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=backfill), threading.Thread(target=nightly)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures

    # the same two nights, one after the other, on a fresh lake: what no lost commit must leave
    reference = LakeStorage(root_uri=str(tmp_path / "reference"))
    ingest_source("fred", reference, settings, run_id="n1", start=None, end=None, files=[night1])
    spec = plans_for("fred")[0].spec
    after_night1 = read_table(reference, spec).num_rows
    ingest_source("fred", reference, settings, run_id="n2", start=None, end=None, files=[night2])
    got, want = read_table(storage, spec), read_table(reference, spec)
    assert got.num_rows == want.num_rows > after_night1  # the second night's new dates are there
    assert content_hash(got, exclude=("ingested_at",)) == content_hash(want, exclude=("ingested_at",))
    for plan in plans_for("fred"):  # every table readable, at every version
        table = DeltaTable(table_uri(storage, plan.spec))
        for version in range(table.version() + 1):
            DeltaTable(table_uri(storage, plan.spec), version=version).to_pyarrow_table()


def test_the_lock_makes_a_second_writer_wait(storage):
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with source_write_lock(storage, "fred"):
            inside.set()
            order.append("first-in")
            threading.Event().wait(0.3)
            order.append("first-out")

    t = threading.Thread(target=first)
    t.start()
    inside.wait(5)
    with source_write_lock(storage, "fred"):
        order.append("second")
    t.join()
    assert order == ["first-in", "first-out", "second"]
    with source_write_lock(storage, "cot"):  # other sources' writers are not held up
        pass


def test_nexus_backfill_cli(storage, settings, tmp_path):
    """`nexus backfill` prints one line per table and refuses a source it cannot backfill."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    ingest_source("fred", storage, settings, run_id="n1", start=None, end=None, files=[_downloads(tmp_path, 7, EARLY)])
    done = CliRunner().invoke(app, ["backfill", "fred", "--engine", "local", "--start", "2023-01-01"])
    assert done.exit_code == 0, done.output
    assert "silver/fred/observations: 2 payloads" in done.output and "(local/delta-rs)" in done.output
    refused = CliRunner().invoke(app, ["backfill", "eia"])
    assert refused.exit_code == 2 and "no backfill for 'eia'" in refused.output
