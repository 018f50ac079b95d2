"""The mart row checks the Spark features job commits under are dbt's own (read from the model's YAML)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pyarrow as pa
import pytest

from resources.spark.mart_checks import RowChecks, checked_rows_spark, failed_rules, row_checks_for

DAY = date(2024, 3, 1)


def _table(**overrides) -> pa.Table:
    rows = {
        "symbol": ["SPX", "SPX", "GLD"],
        "trade_date": [DAY, date(2024, 3, 4), DAY],
        "rvol_20d": [0.2, None, 0.1],
        "max_available_at_used": [datetime(2024, 3, 1, 21, 59, tzinfo=UTC)] * 3,
    }
    rows.update(overrides)
    return pa.table(rows)


CHECKS = RowChecks.model_validate(
    {
        "unique": ["symbol", "trade_date"],
        "not_null": ["symbol"],
        "ranges": [{"column": "rvol_20d", "min": 0, "max": 10}],
        "not_after_decision_time": [{"column": "max_available_at_used", "date_column": "trade_date"}],
    }
)


def test_a_clean_table_passes_and_nulls_pass_the_ranges():
    assert failed_rules(_table(), CHECKS, decision_time_utc=time(22)) == {}


def test_each_broken_rule_is_named_with_its_failing_rows():
    table = _table(
        symbol=["SPX", "SPX", None],
        trade_date=[DAY, DAY, DAY],
        rvol_20d=[11.0, -0.5, 0.1],
        max_available_at_used=[datetime(2024, 3, 1, 22, 0, 1, tzinfo=UTC)] + [datetime(2024, 3, 1, tzinfo=UTC)] * 2,
    )
    assert failed_rules(table, CHECKS, decision_time_utc=time(22)) == {
        "symbol is null": 1,
        "rvol_20d outside [0, 10]": 2,
        "max_available_at_used after the decision time of trade_date": 1,
        "duplicate (symbol, trade_date)": 1,
    }
    # the decision time is a parameter (NEXUS_DECISION_TIME_UTC), not a constant
    late = failed_rules(_table(), CHECKS, decision_time_utc=time(21))
    assert late == {"max_available_at_used after the decision time of trade_date": 2}  # not 2024-03-04


def test_the_features_checks_come_from_the_dbt_model_yaml():
    checks = row_checks_for("fct_features_daily")
    assert checks.unique == ["symbol", "trade_date"]
    assert {"rvol_20d", "cot_index", "drawdown"} <= {r.column for r in checks.ranges}
    assert [r.column for r in checks.not_after_decision_time] == ["max_available_at_used"]
    assert set(checks.columns) >= {"symbol", "trade_date", "decision_at", "max_available_at_used"}
    # a rule it cannot evaluate outside dbt (a range with a SQL `where`) is refused, never skipped
    with pytest.raises(NotImplementedError, match="where"):
        row_checks_for("fct_prices_daily")


def _cases() -> list[tuple[pa.Table, time]]:
    broken = _table(
        symbol=["SPX", "SPX", None],
        trade_date=[DAY, DAY, DAY],
        rvol_20d=[11.0, -0.5, float("nan")],  # NaN: above the max, as DuckDB and Spark order it
        max_available_at_used=[datetime(2024, 3, 1, 22, 0, 1, tzinfo=UTC)] + [datetime(2024, 3, 1, tzinfo=UTC)] * 2,
    )
    return [(_table(), time(22)), (broken, time(22)), (_table(), time(21)), (_table().slice(0, 0), time(22))]


@pytest.mark.parametrize("case", range(4), ids=["clean", "every-rule-broken", "earlier-decision", "empty"])
def test_the_spark_aggregates_give_the_arrow_checks_counts(spark, case):
    """The features job checks its candidate where it lies (Spark aggregates): same rules, same counts."""
    table, decision = _cases()[case]
    frame = spark.createDataFrame(  # from Python values: pandas would turn NaN into null on the way to Spark
        table.to_pylist(), "symbol string, trade_date date, rvol_20d double, max_available_at_used timestamp"
    )
    by_arrow = failed_rules(table, CHECKS, decision_time_utc=decision)
    assert checked_rows_spark(frame, CHECKS, decision_time_utc=decision) == (table.num_rows, by_arrow)
    assert bool(by_arrow) == (case in (1, 2))  # the cases do break rules where they mean to


NAN_CHECKS = RowChecks.model_validate(
    {"ranges": [{"column": "v", "min": 0, "max": 10}, {"column": "v", "min": 0}, {"column": "v", "max": 10}]}
)
NAN_VALUES = pa.table({"v": pa.array([float("nan"), 5.0, None, -1.0, 11.0, float("nan"), 10.0], pa.float64())})


def _by_duckdb(candidate: pa.Table, checks: RowChecks) -> dict[str, int]:
    """The counts dbt's `row_checks` gives: each range's condition as dbt_project/macros/generic_tests.sql writes
    it (`col is not null and (col < min or col > max)`), run by DuckDB on the same values."""
    import duckdb

    connection = duckdb.connect()
    connection.register("candidate", candidate)

    counts = {}
    for rule in checks.ranges:
        bounds = [f"{rule.column} < {rule.min}"] if rule.min is not None else []
        bounds += [f"{rule.column} > {rule.max}"] if rule.max is not None else []
        label = f"{rule.column} outside [{rule.min if rule.min is not None else '-inf'}, "
        label += f"{rule.max if rule.max is not None else 'inf'}]"
        condition = f"{rule.column} is not null and ({' or '.join(bounds)})"
        counts[label] = connection.execute(f"select count(*) filter (where {condition}) from candidate").fetchone()[0]
    return {label: rows for label, rows in counts.items() if rows}


def test_nan_is_out_of_range_on_arrow_as_dbt_counts_it_on_duckdb():
    """NaN sorts above every number in DuckDB: it breaks a `max` bound and passes a lone `min`."""
    expected = {"v outside [0, 10]": 4, "v outside [0, inf]": 1, "v outside [-inf, 10]": 3}
    assert _by_duckdb(NAN_VALUES, NAN_CHECKS) == expected
    assert failed_rules(NAN_VALUES, NAN_CHECKS, decision_time_utc=time(22)) == expected


def test_nan_is_out_of_range_on_spark_as_dbt_counts_it_on_duckdb(spark):
    frame = spark.createDataFrame([(v,) for v in NAN_VALUES["v"].to_pylist()], "v double")  # NaN stays NaN
    expected = _by_duckdb(NAN_VALUES, NAN_CHECKS)
    assert expected["v outside [0, 10]"] == 4  # the two NaN among them
    assert checked_rows_spark(frame, NAN_CHECKS, decision_time_utc=time(22)) == (NAN_VALUES.num_rows, expected)
