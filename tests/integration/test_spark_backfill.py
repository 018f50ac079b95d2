"""Parity: silver rebuilt from bronze by the Spark engine equals the local engine's, bitemporal columns included.

Both engines run on one lake in turn (each replaces the tables it rebuilds), so every comparison is between two
backfills of the same bronze payloads with the same backfill time. The local engine is the nightly landing
function itself, so equality also ties the Spark merge to `merge_versioned`.
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import pytest

from resources.errors import QualityGateError, SourceDataError
from resources.lake.delta import content_hash, open_table, read_table
from resources.lake.quarantine import QUARANTINE
from resources.quality.suites import suite_fingerprint
from resources.simulated.coinmetrics import write_scaled_files as write_scaled_coinmetrics
from resources.simulated.cot import write_scaled_files as write_scaled_cot
from resources.sources.coinmetrics.ingest import ingest_coinmetrics
from resources.sources.cot.ingest import ingest_cot
from resources.sources.fred.ingest import ingest_fred
from resources.sources.quality_gates import suite_for
from resources.sources.staging import committed_gate
from resources.spark.backfill import backfill_local, payload_chunks
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
def test_fred_parity_on_a_simulated_lake_fetched_twice_and_a_bad_file(spark, storage, settings, tmp_path):
    series = ("DGS10", "T10Y2Y")
    settings = settings.model_copy(update={"http_timeout_s": 60.0})  # the simulated API answers slowly on a busy CI
    ingest_fred(storage, settings, run_id="n1", start=date(2023, 1, 1), end=date(2023, 3, 31), series=series)
    ingest_fred(storage, settings, run_id="n2", start=date(2023, 1, 1), end=date(2023, 6, 30), series=series)
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
    assert observations.num_rows > 200  # (these two fetches at one clock bring no revision: parity is the claim)
    for name, table in nightly.items():  # and both equal what the nightly path built, but for ingested_at
        rebuilt = read_table(storage, next(p.spec for p in plans_for("fred") if p.spec.name == name))
        assert content_hash(rebuilt, exclude=("ingested_at",)) == content_hash(table, exclude=("ingested_at",))
    assert read_table(storage, QUARANTINE).num_rows >= 1

    # a partial backfill replaces only the rows dated in its window, on either engine
    window = {"start": date(2023, 3, 1), "end": date(2023, 3, 31)}
    by_local, by_spark, *_ = _both_engines(spark, storage, "fred", **window)
    assert by_spark == by_local


_REPORT_DATE = re.compile(r"(,\d{6},)(\d{4}-\d{2}-\d{2})")


def _unzipped(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read(archive.namelist()[0]).decode("utf-8")


def _with_bad_dates(text: str, every: int) -> str:
    """The annual file with every `every`-th data row's report date made impossible (a BadDate row each)."""
    header, *lines = text.split("\r\n")
    bad = [
        _REPORT_DATE.sub(r"\g<1>2024-13-45", line, count=1) if i % every == 1 else line for i, line in enumerate(lines)
    ]
    return "\r\n".join([header, *bad])


def _assert_parity_and_revisions(spark, storage, source: str) -> tuple[object, object]:
    by_local, by_spark, local, on_spark = _both_engines(spark, storage, source)
    assert by_spark == by_local, source
    assert [t.rows for t in on_spark.tables] == [t.rows for t in local.tables] and on_spark.rows > 0
    assert len(on_spark.errors) == len(local.errors)
    revised = [p.spec.name for p in plans_for(source) if any(read_table(storage, p.spec)["is_revision"].to_pylist())]
    assert revised, f"{source}: the simulated lake should hold revisions"
    return local, on_spark


@pytest.mark.slow
def test_cot_parity_on_a_scaled_simulated_lake_with_revisions_and_bad_rows(spark, storage, settings, tmp_path):
    """All three reports, two publication states around a correction (CFTC revised NASDAQ's 2024-02-13 week on
    2024-03-15), replica markets from the scale parameter in a file with one bad row in ~200 (its good rows land,
    as the nightly row policy says) and a file rejected whole."""
    for k, as_of in enumerate((date(2024, 2, 29), date(2024, 3, 31))):
        files = write_scaled_cot(tmp_path / f"cot{k}", settings.seed, as_of, markets=3, years=1)
        _land(ingest_cot, storage, settings, run_id=f"n{k}", start=None, end=None, files=files)
    (wider,) = write_scaled_cot(
        tmp_path / "wide", settings.seed, date(2024, 3, 31), markets=16, years=1, reports=("legacy",)
    )
    partial, whole = tmp_path / "partial" / "annual.txt", tmp_path / "whole" / "annual.txt"
    for path, every in ((partial, 1000), (whole, 2)):
        path.parent.mkdir()
        path.write_text(_with_bad_dates(_unzipped(wider), every))
    _land(ingest_cot, storage, settings, run_id="n3", start=None, end=None, files=[partial, whole])

    local, on_spark = _assert_parity_and_revisions(spark, storage, "cot")
    legacy = read_table(storage, plans_for("cot")[0].spec)
    assert any(c.startswith("X") for c in legacy["cftc_contract_market_code"].to_pylist())  # the partial file landed
    assert on_spark.tables[0].quarantined_payloads == local.tables[0].quarantined_payloads == 1
    assert read_table(storage, QUARANTINE).num_rows >= 2


@pytest.mark.slow
def test_coinmetrics_parity_on_a_scaled_simulated_lake_with_restatements(spark, storage, settings, tmp_path):
    for k, as_of in enumerate((date(2024, 6, 30), date(2024, 12, 31))):
        files = write_scaled_coinmetrics(tmp_path / f"cm{k}", settings.seed, as_of, assets=3, years=1)
        _land(ingest_coinmetrics, storage, settings, run_id=f"n{k}", start=None, end=None, files=files)
    good = (tmp_path / "cm1" / "btcx2.csv").read_text().replace(",btcx2,", ",btcx9,").splitlines()
    bad = tmp_path / "bad" / "btcx9.csv"
    bad.parent.mkdir()
    cells = good[100].split(",")
    good[100] = ",".join([*cells[:2], "not-a-number", *cells[3:]])  # the first metric after time and asset
    bad.write_text("\n".join(good) + "\n")  # one bad row in ~365: quarantined, the rest lands
    _land(ingest_coinmetrics, storage, settings, run_id="n3", start=None, end=None, files=[bad])

    _assert_parity_and_revisions(spark, storage, "coinmetrics")
    assets = set(read_table(storage, plans_for("coinmetrics")[0].spec)["asset"].to_pylist())
    assert assets == {"btc", "eth", "btcx2", "btcx9"}
    assert read_table(storage, QUARANTINE).num_rows >= 1


@pytest.mark.slow
@pytest.mark.real_data
def test_parity_on_the_real_publisher_files(spark, storage, settings, real_data: Path):
    """One real file per layout: FRED's current and old CSV layouts, each COT report, Coin Metrics' community CSV
    (every payload parsed by both engines; its 11 years of metrics merged from 2019 on, to keep the test small)."""
    fred = [real_data / "fred" / f"DCOILWTICO_{layout}_layout.csv" for layout in ("current", "old")]
    _land(ingest_fred, storage, settings, run_id="f", start=None, end=None, files=fred)
    since = {"start": date(2019, 1, 1)}
    _land(ingest_coinmetrics, storage, settings, run_id="c", end=None, files=[real_data / "coinmetrics"], **since)
    folder = real_data / "cot"
    cot = [folder / "legacy_futures_only" / "annual_2024_to_0123.txt", folder / "disaggregated_futures_only"]
    cot.append(folder / "tff_futures_only" / "FinFut_2024.txt")
    _land(ingest_cot, storage, settings, run_id="t", start=None, end=None, files=cot)
    for source, window in (("fred", {}), ("coinmetrics", since), ("cot", {})):
        by_local, by_spark, local, on_spark = _both_engines(spark, storage, source, **window)
        assert by_spark == by_local, source
        assert on_spark.rows == local.rows > 0, source
        assert on_spark.delta_engine == "delta-rs"


def _misprinted(path: Path, folder: Path) -> Path:
    """The same file republished with one price a thousand times too high (outside the suite's plausible range)."""
    header, *lines = path.read_text().splitlines()
    price = header.split(",").index("PriceUSD")
    cells = lines[100].split(",")
    cells[price] = str(float(cells[price]) * 1e6)
    lines[100] = ",".join(cells)
    folder.mkdir()
    (folder / path.name).write_text("\n".join([header, *lines]) + "\n")
    return folder / path.name


@pytest.mark.slow
def test_a_backfill_failing_the_blocking_suite_commits_nothing_and_quarantines_the_batch(
    spark, storage, settings, tmp_path
):
    """Write-audit-publish on both engines: the candidate table is gated before the one commit. A misprint the
    nightly gate refused still sits in bronze (raw payloads are kept), so a rebuild from bronze meets it again:
    the table keeps its Delta version and content, and each payload of the refused batch is quarantined naming
    the expectation."""
    (good,) = write_scaled_coinmetrics(tmp_path / "cm", settings.seed, date(2024, 6, 30), assets=1, years=1)
    ingest_coinmetrics(storage, settings, run_id="n1", start=None, end=None, files=[good])
    spec = plans_for("coinmetrics")[0].spec
    passed = backfill_spark(spark, storage, "coinmetrics", run_id="ok", ingested_at=AT)
    assert passed.tables[0].committed and "expectations passed on 3,650 candidate rows" in passed.tables[0].gate
    gate = committed_gate(storage, spec)
    fingerprint = suite_fingerprint(suite_for(spec.name))
    assert gate == {**gate, "run_id": "ok", "backfill": True, "passed": True, "suite_fingerprint": fingerprint}

    with pytest.raises(QualityGateError):
        ingest_coinmetrics(
            storage, settings, run_id="n2", start=None, end=None, files=[_misprinted(good, tmp_path / "x")]
        )
    version, content = open_table(storage, spec).version(), content_hash(read_table(storage, spec))

    for engine, run in (("local", backfill_local), ("spark", partial(backfill_spark, spark))):
        result = run(storage, "coinmetrics", run_id=engine, ingested_at=AT)
        (table,) = result.tables
        assert not table.committed and table.rows == 0, engine
        assert "expect_column_values_to_be_between" in table.gate and f"left at version {version}" in table.gate, engine
        assert len(result.errors) == 1 and "source=coinmetrics" in result.errors[0], engine
        assert open_table(storage, spec).version() == version, engine
        assert content_hash(read_table(storage, spec)) == content, engine
        assert table.quarantined_payloads == 2, engine  # the first file and its misprinted republication
        refused = [r for r in read_table(storage, QUARANTINE).to_pylist() if "this backfill" in r["reason"]]
        assert len(refused) == 2 and {r["error_type"] for r in refused} == {"QualityGateError"}, engine
        assert {r["row_number"] for r in refused} == {0}, engine  # the same refusal twice is recorded once


def test_a_renamed_copy_survives_a_rebuild_from_bronze(storage, settings, tmp_path):
    """A Coin Metrics file names its asset: a byte-identical copy under another name is another asset's history.
    Bronze keeps it as its own payload, so a rebuild from bronze loses none of its rows."""
    (btc,) = write_scaled_coinmetrics(tmp_path / "cm", settings.seed, date(2024, 6, 30), assets=1, years=1)
    copy = tmp_path / "copy" / "ltc.csv"
    copy.parent.mkdir()
    copy.write_bytes(btc.read_bytes())
    report = ingest_coinmetrics(storage, settings, run_id="n", start=None, end=None, files=[btc, copy])
    assert [p.new_in_bronze for p in report.payloads] == [True, True]
    spec = plans_for("coinmetrics")[0].spec
    nightly = read_table(storage, spec)
    assert set(nightly["asset"].to_pylist()) == {"btc", "ltc"}

    rebuilt = backfill_local(storage, "coinmetrics", run_id="b", ingested_at=AT)
    assert rebuilt.tables[0].payloads == 2 and rebuilt.rows == nightly.num_rows
    assert content_hash(read_table(storage, spec), exclude=("ingested_at",)) == content_hash(
        nightly, exclude=("ingested_at",)
    )


def test_the_local_engine_landing_payload_by_payload_builds_the_same_tables(storage, settings, tmp_path):
    """Bounded memory: the local engine lands `chunk_bytes` of payloads at a time. Chunks of one payload each give
    exactly the tables of one chunk holding them all (revisions, a quarantined row and all)."""
    for k, as_of in enumerate((date(2024, 6, 30), date(2024, 12, 31))):
        files = write_scaled_coinmetrics(tmp_path / f"cm{k}", settings.seed, as_of, assets=1, years=1)
        _land(ingest_coinmetrics, storage, settings, run_id=f"n{k}", start=None, end=None, files=files)
    lines = (tmp_path / "cm1" / "btc.csv").read_text().splitlines()
    cells = lines[100].split(",")
    lines[100] = ",".join([*cells[:2], "not-a-number", *cells[3:]])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "btc.csv").write_text("\n".join(lines) + "\n")
    _land(ingest_coinmetrics, storage, settings, run_id="n3", start=None, end=None, files=[tmp_path / "bad"])
    spec = plans_for("coinmetrics")[0].spec

    whole = backfill_local(storage, "coinmetrics", run_id="whole", ingested_at=AT, chunk_bytes=1 << 40)
    at_once = content_hash(read_table(storage, spec))
    one_by_one = backfill_local(storage, "coinmetrics", run_id="each", ingested_at=AT, chunk_bytes=1)
    assert content_hash(read_table(storage, spec)) == at_once
    assert one_by_one.tables[0].payloads == whole.tables[0].payloads == 3
    assert one_by_one.rows == whole.rows and any(read_table(storage, spec)["is_revision"].to_pylist())
    assert one_by_one.errors == whole.errors


def test_payload_chunks_bound_the_bytes_of_each_chunk_and_keep_the_order():
    rows = [{"bytes": b, "i": i} for i, b in enumerate((5, 5, 20, 1, 1, 1))]
    chunks = list(payload_chunks(rows, 10))
    assert [[r["i"] for r in c] for c in chunks] == [[0, 1], [2], [3, 4, 5]]
