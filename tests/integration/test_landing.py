"""The landing pipeline every source shares: row-level quarantine within the bad-row policy, structural problems
rejected whole, bounded cost on garbage, and cut-off values corrected in place instead of revised."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from resources.errors import BadRowsError, SchemaMismatchError, TruncatedPayloadError
from resources.lake.bronze import MANIFEST, read_payload
from resources.lake.corrections import CUT_CANDIDATES
from resources.lake.delta import read_table
from resources.lake.quarantine import QUARANTINE
from resources.lake.tables import TableSpec
from resources.quality.row_policy import RowPolicy
from resources.simulated import cboe, coinmetrics, cot, eia, fred
from resources.sources.base import ParseResult, land_payloads
from resources.sources.cboe.parser import parse_cboe_csv
from resources.sources.cboe.spec import INDEX_CLOSES
from resources.sources.coinmetrics.parser import parse_community_csv
from resources.sources.coinmetrics.spec import ASSET_METRICS
from resources.sources.cot.parser import parse_cot_payload
from resources.sources.cot.spec import TABLES as COT_TABLES
from resources.sources.eia.parser import parse_daily_prices, parse_weekly_series
from resources.sources.eia.spec import DAILY_PRICES, WEEKLY_SERIES
from resources.sources.fred.parser import parse_fred_csv
from resources.sources.fred.spec import OBSERVATIONS

SEED, AS_OF = 7, date(2026, 3, 1)
AT = datetime(2026, 3, 1, 23, tzinfo=UTC)
ROWS = 10_000  # the acceptance's file size: 1 bad row among 10,000


def _payload(data: bytes, source: str, dataset: str, at: datetime = AT, name: str = "file.csv"):
    from resources.lake.bronze import RawPayload

    return RawPayload(source=source, dataset=dataset, location=f"/sim/{name}", data=data, fetched_at=at)


def _spoil(data: bytes, line: int, cell: int) -> bytes:
    """Replace cell `cell` of (0-based) line `line` with a non-number."""
    lines = data.split(b"\n")
    cells = lines[line].split(b",")
    cells[cell] = b"oops"
    lines[line] = b",".join(cells)
    return b"\n".join(lines)


Source = tuple[str, Callable[[], bytes], Callable[[object], ParseResult], TableSpec, str, int, int]
SOURCES: list[Source] = [
    ("cboe", lambda: cboe.history_csv(SEED, "VIX", AS_OF, rows=ROWS), parse_cboe_csv, INDEX_CLOSES, "VIX", 1, 4),
    (
        "fred",
        lambda: fred.download_csv(SEED, "DGS10", AS_OF, rows=ROWS),
        parse_fred_csv,
        OBSERVATIONS,
        "DGS10",
        1,
        1,
    ),
    (
        "eia",
        lambda: eia.download_csv(SEED, "RNGWHHD", AT, rows=ROWS),
        parse_daily_prices,
        DAILY_PRICES,
        "RNGWHHD",
        5,
        1,
    ),
    (
        "coinmetrics",
        lambda: coinmetrics.community_csv(SEED, "btc", AS_OF, rows=ROWS),
        parse_community_csv,
        ASSET_METRICS,
        "btc",
        1,
        3,
    ),
    (
        "cot",
        lambda: cot.history_text(SEED, "legacy", AS_OF, rows=ROWS),
        parse_cot_payload,
        COT_TABLES["legacy"],
        "legacy_futures_only",
        1,
        8,
    ),
]


def _rows(storage, spec: TableSpec) -> int:
    return read_table(storage, spec, columns=[spec.keys[0]]).num_rows


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "make", "parse", "spec", "dataset", "first", "cell"), SOURCES, ids=[s[0] for s in SOURCES]
)
def test_one_bad_row_is_quarantined_and_the_rest_loads(storage, source, make, parse, spec, dataset, first, cell):
    data = make()
    assert len(data.splitlines()) - first == ROWS
    bad_line = first + ROWS // 2  # 0-based: a data line in the middle
    spoiled = _spoil(data, bad_line, cell)
    clean_rows = parse(_payload(data, source, dataset)).table.num_rows
    report = land_payloads(storage, [_payload(spoiled, source, dataset)], parse=parse, spec=spec, run_id="r")

    [outcome] = report.payloads
    assert outcome.error is None and outcome.quarantined == 1
    assert f"first on line {bad_line + 1}" in (outcome.warning or "")
    assert "rejected whole" in report.policy
    # one line lost: one row, or for Coin Metrics the metric cells of that day
    cells = [c for c in data.split(b"\n")[bad_line].split(b",")[1:] if c.strip()]
    assert clean_rows - _rows(storage, spec) == (len(cells) if source == "coinmetrics" else 1)
    if source != "coinmetrics":  # one silver row per line; Coin Metrics has one per metric cell
        assert clean_rows == ROWS and _rows(storage, spec) == ROWS - 1
    [bad] = read_table(storage, QUARANTINE).to_pylist()
    assert bad["row_number"] == bad_line + 1 and "oops" in bad["reason"] and "oops" in bad["raw"]


def test_bad_rows_above_the_share_reject_the_payload_whole(storage):
    data = fred.download_csv(SEED, "DGS10", AS_OF)
    spoiled = _spoil(_spoil(data, 100, 1), 200, 1)
    with pytest.raises(BadRowsError, match=r"2 of [\d,]+ rows are bad, above the 0.01% limit") as info:
        land_payloads(
            storage,
            [_payload(spoiled, "fred", "DGS10")],
            parse=parse_fred_csv,
            spec=OBSERVATIONS,
            run_id="r",
            policy=RowPolicy(max_bad_row_share=0.0001),
        )
    assert info.value.row == 101 and str(info.value).count("rejected whole") == 1
    assert _rows(storage, OBSERVATIONS) == 0
    assert read_table(storage, QUARANTINE).num_rows == 2


@pytest.mark.parametrize(
    ("spoil", "error"),
    [
        (lambda d: d.replace(b"observation_date,DGS10", b"observation_date,VALUE", 1), SchemaMismatchError),
        (lambda d: d[:-3], TruncatedPayloadError),  # "3.64\n" cut to "3."
    ],
    ids=["missing-column", "truncated"],
)
def test_structural_problems_still_reject_the_payload_whole(storage, spoil, error):
    data = spoil(fred.download_csv(SEED, "DGS10", date(2024, 3, 1)))
    with pytest.raises(error):
        land_payloads(storage, [_payload(data, "fred", "DGS10")], parse=parse_fred_csv, spec=OBSERVATIONS, run_id="r")
    assert _rows(storage, OBSERVATIONS) == 0
    [row] = read_table(storage, MANIFEST).to_pylist()
    assert read_payload(storage, row["sha256"]) == data  # the bytes stay in bronze


def test_a_file_of_garbage_costs_bounded_work(storage):
    """One repeated bad line: parsing stops at the kept-rows bound, quarantine holds at most that many rows."""
    data = b"DATE,OPEN,HIGH,LOW,CLOSE\n" + b"01/02/2020,x,x,x,x\n" * 200_000
    with pytest.raises(BadRowsError, match="more than 10,000 bad rows"):
        land_payloads(storage, [_payload(data, "cboe", "VIX")], parse=parse_cboe_csv, spec=INDEX_CLOSES, run_id="r")
    assert read_table(storage, QUARANTINE).num_rows == 10_000


def _cut_digits(data: bytes, keep: int) -> tuple[bytes, bytes]:
    """(file whose last value keeps only `keep` characters, the full last value); no final newline either way."""
    body = data.rstrip(b"\r\n")
    start = body.rfind(b",") + 1
    return body[: start + keep], body[start:]


@pytest.mark.parametrize(
    ("make", "parse", "spec", "source", "dataset", "keep"),
    [
        (
            lambda: eia.download_csv(SEED, "RNGWHHD", datetime(2016, 3, 31, tzinfo=UTC)),
            parse_daily_prices,
            DAILY_PRICES,
            "eia",
            "RNGWHHD",
            1,  # the oldest price, 2.6, cut to 2
        ),
        (
            lambda: coinmetrics.community_csv(SEED, "btc", date(2016, 3, 31)),
            parse_community_csv,
            ASSET_METRICS,
            "coinmetrics",
            "btc",
            5,
        ),
    ],
    ids=["eia", "coinmetrics"],
)
def test_a_cut_value_is_corrected_in_place_not_revised(storage, make, parse, spec, source, dataset, keep):
    data = make()
    cut, full_value = _cut_digits(data, keep)
    first_at, later_at = AT, AT + timedelta(days=3)
    land_payloads(storage, [_payload(cut, source, dataset, first_at, "a.csv")], parse=parse, spec=spec, run_id="r1")
    before = read_table(storage, spec).to_pandas()
    assert read_table(storage, CUT_CANDIDATES).num_rows == 1

    report = land_payloads(
        storage,
        [_payload(data.rstrip(b"\r\n"), source, dataset, later_at, "b.csv")],
        parse=parse,
        spec=spec,
        run_id="r2",
    )
    after = read_table(storage, spec).to_pandas()
    assert report.revised == 0 and report.corrected == 1 and len(after) == len(before)
    assert (after.version == 1).all() and not after.is_revision.any()
    changed = after.merge(before, on=[*spec.keys, "version"], suffixes=("", "_before"))
    changed = changed[changed.value != changed.value_before]
    assert len(changed) == 1
    assert (
        changed.value.iloc[0] == float(full_value)
        and changed.available_at.iloc[0] == changed.available_at_before.iloc[0]
    )
    assert str(changed.value_before.iloc[0]).startswith(full_value[:keep].decode().rstrip("."))
    [note] = read_table(storage, QUARANTINE).to_pylist()
    assert note["error_type"] == "CorrectedCutValue" and "corrected in place" in note["reason"]
    assert read_table(storage, CUT_CANDIDATES).num_rows == 0

    # a later, real revision of that value is still a revision
    body = data.rstrip(b"\r\n")
    revised = body[:-1] + str((int(body[-1:]) + 1) % 10).encode()  # the last digit changes
    report = land_payloads(
        storage,
        [_payload(revised, source, dataset, later_at + timedelta(days=7), "c.csv")],
        parse=parse,
        spec=spec,
        run_id="r3",
    )
    assert report.revised == 1 and report.corrected == 0


def test_write_audit_publish_commits_nothing_when_a_blocking_expectation_fails(storage):
    """Stage, check, then commit: a failing suite leaves the table at its previous Delta version."""
    from deltalake import DeltaTable

    from resources.errors import QualityGateError
    from resources.lake.delta import content_hash, table_uri
    from resources.sources.staging import committed_gate

    good = eia.download_csv(SEED, "WCESTUS1", datetime(2016, 3, 31, tzinfo=UTC))
    first = land_payloads(
        storage,
        [_payload(good, "eia", "WCESTUS1", AT, "a.csv")],
        parse=parse_weekly_series,
        spec=WEEKLY_SERIES,
        run_id="r1",
    )
    assert "expectations passed" in first.gate and committed_gate(storage, WEEKLY_SERIES)["run_id"] == "r1"
    _a_later_run_carries_the_verdict_of_the_unchanged_table(storage)
    version = DeltaTable(table_uri(storage, WEEKLY_SERIES)).version()
    before = content_hash(read_table(storage, WEEKLY_SERIES))

    lines = good.decode().split("\n")
    newest = next(i for i, line in enumerate(lines) if line.startswith("Week of,")) + 1
    day, _ = lines[newest].split(",")
    lines[newest] = f"{day},99999999"  # a plausible-looking number far outside the series' range
    with pytest.raises(QualityGateError, match="expect_column_values_to_be_between failed") as info:
        land_payloads(
            storage,
            [_payload("\n".join(lines).encode(), "eia", "WCESTUS1", AT + timedelta(days=7), "b.csv")],
            parse=parse_weekly_series,
            spec=WEEKLY_SERIES,
            run_id="r2",
        )
    assert f"left at version {version}" in str(info.value)
    assert DeltaTable(table_uri(storage, WEEKLY_SERIES)).version() == version
    assert content_hash(read_table(storage, WEEKLY_SERIES)) == before
    [note] = [r for r in read_table(storage, QUARANTINE).to_pylist() if r["error_type"] == "QualityGateError"]
    assert "expect_column_values_to_be_between" in note["reason"] and note["location"] == "/sim/b.csv"


def test_a_batch_planned_before_another_writer_committed_is_planned_again(storage):
    """Two writers offering different values for one key never both write its version 2."""
    from resources.lake.bronze import put_payloads
    from resources.sources.base import PayloadOutcome, _with_ingest_columns
    from resources.sources.staging import StagedBatch

    first = eia.download_csv(SEED, "WCESTUS1", datetime(2016, 3, 31, tzinfo=UTC))
    land_payloads(
        storage,
        [_payload(first, "eia", "WCESTUS1", AT, "a.csv")],
        parse=parse_weekly_series,
        spec=WEEKLY_SERIES,
        run_id="r1",
    )
    lines = first.decode().split("\n")
    newest = next(i for i, line in enumerate(lines) if line.startswith("Week of,")) + 1
    day, value = lines[newest].split(",")

    def revised(by: int, name: str):
        lines[newest] = f"{day},{int(value) + by}"
        return _payload("\n".join(lines).encode(), "eia", "WCESTUS1", AT + timedelta(days=by), name)

    slow = revised(2, "slow.csv")
    [record] = put_payloads(storage, [slow], "slow")
    batch = StagedBatch(storage, WEEKLY_SERIES)
    outcome = PayloadOutcome(dataset="WCESTUS1", location="slow.csv", sha256=record.sha256, new_in_bronze=True)
    batch.stage(record, _with_ingest_columns(parse_weekly_series(slow).table, record), None, outcome)
    land_payloads(storage, [revised(1, "fast.csv")], parse=parse_weekly_series, spec=WEEKLY_SERIES, run_id="fast")
    batch.publish(None, run_id="slow")

    rows = read_table(storage, WEEKLY_SERIES).to_pandas()
    key = rows[(rows.series_id == "WCESTUS1") & (rows.period == max(rows.period))].sort_values("version")
    assert key.version.tolist() == [1, 2, 3]
    assert key.value.tolist() == [float(value), float(value) + 1, float(value) + 2]


def test_a_batch_plans_each_payload_against_the_rows_of_its_own_keys(storage, monkeypatch):
    """Many payloads in one batch: each is planned against only the candidate rows of its keys (its series), not
    the whole candidate table, and the batch stages exactly what planning against the whole table would, payload
    after payload (a later payload of the same series sees what an earlier one staged)."""
    import pandas as pd

    from resources.lake.bronze import put_payloads
    from resources.lake.delta import plan_versioned
    from resources.sources import staging
    from resources.sources.base import PayloadOutcome, _with_ingest_columns
    from resources.sources.late_release import first_seen_window

    series = ["WCESTUS1", "WPULEUS3", "WCRFPUS2"]
    early = datetime(2016, 3, 31, tzinfo=UTC)
    land_payloads(
        storage,
        [_payload(eia.download_csv(SEED, s, early), "eia", s, AT, f"{s}.csv") for s in series],
        parse=parse_weekly_series,
        spec=WEEKLY_SERIES,
        run_id="r1",
        suite=None,  # the gate is tested above; this is about planning
    )
    later = eia.download_csv(SEED, series[0], datetime(2016, 6, 30, tzinfo=UTC))
    lines = later.decode().split("\n")
    newest = next(i for i, line in enumerate(lines) if line.startswith("Week of,")) + 1
    day, value = lines[newest].split(",")
    lines[newest] = f"{day},{int(value) + 5}"
    payloads = [
        _payload(eia.download_csv(SEED, s, datetime(2016, 6, 30, tzinfo=UTC)), "eia", s, AT, f"{s}-later.csv")
        for s in series
    ] + [_payload("\n".join(lines).encode(), "eia", series[0], AT + timedelta(days=1), "revised.csv")]
    records = put_payloads(storage, payloads, "r2")

    seen: list[tuple[set, set]] = []

    def plan_and_record(spec, table, existing, **kwargs):
        seen.append((set(table.column("series_id").to_pylist()), set(existing["series_id"])))
        return plan_versioned(spec, table, existing, **kwargs)

    monkeypatch.setattr(staging, "plan_versioned", plan_and_record)
    batch = staging.StagedBatch(storage, WEEKLY_SERIES)
    whole = read_table(storage, WEEKLY_SERIES).to_pandas()
    for record in records:
        table = _with_ingest_columns(parse_weekly_series(record.payload).table, record)
        expected, _ = plan_versioned(
            WEEKLY_SERIES,
            table,
            whole,
            revision_available_at=record.payload.knowledge_time,
            first_seen_window=first_seen_window(record.payload),
        )
        whole = pd.concat([whole, expected.to_pandas()], ignore_index=True)
        outcome = PayloadOutcome(dataset="x", location="-", sha256=record.sha256, new_in_bronze=True)
        batch.stage(record, table, None, outcome)
        assert batch.staged[-1].rows.equals(expected)
    assert all(existing == wanted for wanted, existing in seen)  # only the payload's own series
    revised = batch.staged[-1].rows.to_pandas()
    assert revised["is_revision"].all() and revised["version"].tolist() == [2]
    assert len(batch.current) == len(whole)
    batch.publish(None, run_id="r2")
    assert read_table(storage, WEEKLY_SERIES).num_rows == len(whole)


def _a_later_run_carries_the_verdict_of_the_unchanged_table(storage) -> None:
    """A run that committed nothing reports the verdict the table's latest (gated) commit passed with, without
    validating again; a changed suite is run on the table as it stands."""
    from dagster import AssetCheckSeverity

    import assets.ingest.reporting as reporting
    from resources.sources.quality_gates import suite_for

    suite = suite_for(WEEKLY_SERIES.name)
    calls = []
    real_validate = reporting.validate

    def counted(frame, checked_suite):
        calls.append(checked_suite.name)
        return real_validate(frame, checked_suite)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reporting, "validate", counted)
        carried = reporting.quality_check_result(storage, WEEKLY_SERIES, suite, AssetCheckSeverity.ERROR, run_id="r9")
        assert carried.passed and carried.metadata["validated"].value.startswith("carried")
        assert carried.metadata["validated_by_run"].value == "r1" and calls == []
        stricter = suite.model_copy(update={"not_null": [*suite.not_null, "value"]})
        checked = reporting.quality_check_result(
            storage, WEEKLY_SERIES, stricter, AssetCheckSeverity.ERROR, run_id="r9"
        )
        assert checked.passed and "validated" not in checked.metadata and calls == [suite.name]
