"""A mart's dbt `row_checks` test, evaluated on a candidate table before a Spark engine commits it.

When Spark writes a table dbt would otherwise build (`features_job`), dbt's data tests never see that write. The
rules come from the model's own YAML (dbt_project/models/marts/.../<model>.yml, the `row_checks` test, see
dbt_project/macros/generic_tests.sql), so both engines are held to one list: not-null columns, inclusive ranges
(nulls pass; NaN compares above every number, as DuckDB orders it, so it breaks a `max` and passes a lone `min`),
unique keys and the point-in-time guard (no fact available after the row's decision time).

`failed_rules` checks an Arrow table; `checked_rows_spark` gives the same counts as two Spark aggregates over a
DataFrame, so a Spark job's candidate is checked where it lies, not brought to the driver.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, Field

from resources.errors import NexusError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

MARTS_DIR = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "marts"


class MartCheckError(NexusError):
    """A candidate mart table broke its row checks: nothing was committed, the table keeps its version."""

    def __init__(self, table: str, failed: dict[str, int]) -> None:
        self.table, self.failed = table, failed
        rules = "; ".join(f"{rule}: {rows} rows" for rule, rows in failed.items())
        super().__init__(f"{table}: row checks failed, nothing committed ({rules})")


class RangeRule(BaseModel):
    column: str
    min: int | float | None = None
    max: int | float | None = None
    where: str | None = None


class DecisionTimeRule(BaseModel):
    column: str
    date_column: str


class RowChecks(BaseModel):
    """The arguments of dbt's `row_checks` test (dbt_project/macros/generic_tests.sql)."""

    unique: list[str] = Field(default_factory=list)
    not_null: list[str] = Field(default_factory=list)
    ranges: list[RangeRule] = Field(default_factory=list)
    not_after_decision_time: list[DecisionTimeRule] = Field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The columns the checks read (the rest of the candidate need not reach the driver)."""
        named = [*self.unique, *self.not_null, *(r.column for r in self.ranges)]
        named += [c for r in self.not_after_decision_time for c in (r.column, r.date_column)]
        return list(dict.fromkeys(named))


def row_checks_for(model: str, marts_dir: Path = MARTS_DIR) -> RowChecks:
    """The `row_checks` arguments of `model`'s YAML."""
    [path] = list(marts_dir.rglob(f"{model}.yml"))
    spec = yaml.safe_load(path.read_text())
    [entry] = [m for m in spec["models"] if m["name"] == model]
    for test in entry.get("data_tests", []):
        if isinstance(test, dict) and "row_checks" in test:
            checks = RowChecks.model_validate(test["row_checks"].get("arguments", {}))
            if any(r.where for r in checks.ranges):
                raise NotImplementedError(f"{model}: `where` in row_checks ranges is not evaluated outside dbt")
            return checks
    raise LookupError(f"{model} has no row_checks test in {path}")


def failed_rules(table: pa.Table, checks: RowChecks, *, decision_time_utc: time) -> dict[str, int]:
    """Rule label -> failing rows, for every rule with at least one (labels as dbt's test names them)."""
    failed: dict[str, int] = {}
    for column in checks.not_null:
        failed[f"{column} is null"] = table[column].null_count
    for rule in checks.ranges:
        values = table[rule.column]
        low = pc.less(values, rule.min) if rule.min is not None else None
        high = _above(values, rule.max) if rule.max is not None else None
        broken = low if high is None else high if low is None else pc.or_(low, high)
        bounds = f"[{rule.min if rule.min is not None else '-inf'}, {rule.max if rule.max is not None else 'inf'}]"
        failed[f"{rule.column} outside {bounds}"] = (
            pc.sum(pc.cast(pc.fill_null(broken, False), pa.int64())).as_py() or 0
        )
    offset = pa.scalar((time_seconds(decision_time_utc)) * 1_000_000, pa.duration("us"))
    for rule in checks.not_after_decision_time:
        start_of_day = pc.cast(pc.cast(table[rule.date_column], pa.timestamp("us")), pa.timestamp("us", tz="UTC"))
        decision = pc.add(start_of_day, offset)
        late = pc.greater(pc.cast(table[rule.column], pa.timestamp("us", tz="UTC")), decision)
        failed[f"{rule.column} after the decision time of {rule.date_column}"] = (
            pc.sum(pc.cast(pc.fill_null(late, False), pa.int64())).as_py() or 0
        )
    if checks.unique and table.num_rows:
        counts = table.group_by(checks.unique).aggregate([([], "count_all")])
        failed[f"duplicate ({', '.join(checks.unique)})"] = pc.sum(
            pc.cast(pc.greater(counts["count_all"], 1), pa.int64())
        ).as_py()
    return {rule: rows for rule, rows in failed.items() if rows}


def checked_rows_spark(frame: DataFrame, checks: RowChecks, *, decision_time_utc: time) -> tuple[int, dict[str, int]]:
    """The frame's rows and `failed_rules` as Spark aggregates: one pass counts rows, nulls, out-of-range and late
    rows, one group-by counts duplicate keys. Same labels and counts (NaN is above any `max`, as Spark and DuckDB
    order it; nulls pass ranges). The session's time zone must be UTC (`session.PARITY_CONF`), so a date casts to its
    UTC midnight."""
    from pyspark.sql import functions as F

    def count(condition: Column) -> Column:
        return F.sum(F.when(condition, 1).otherwise(0))

    counts: dict[str, Column] = {f"{column} is null": count(F.col(column).isNull()) for column in checks.not_null}
    for rule in checks.ranges:
        value = F.col(rule.column)
        broken = F.lit(False)
        if rule.min is not None:
            broken = broken | (value < F.lit(rule.min))
        if rule.max is not None:
            broken = broken | (value > F.lit(rule.max))
        bounds = f"[{rule.min if rule.min is not None else '-inf'}, {rule.max if rule.max is not None else 'inf'}]"
        counts[f"{rule.column} outside {bounds}"] = count(broken)  # Spark, as DuckDB: NaN > every number
    offset = F.expr(f"INTERVAL {time_seconds(decision_time_utc)} SECONDS")
    for rule in checks.not_after_decision_time:
        decision = F.col(rule.date_column).cast("timestamp") + offset
        counts[f"{rule.column} after the decision time of {rule.date_column}"] = count(
            F.col(rule.column).cast("timestamp") > decision
        )
    labels = list(counts)
    row = frame.agg(F.count(F.lit(1)), *(c.alias(f"c{i}") for i, c in enumerate(counts.values()))).first()
    assert row is not None  # a global aggregate always has its one row
    failed = {label: int(row[i + 1] or 0) for i, label in enumerate(labels)}
    if checks.unique:
        duplicated = frame.groupBy(*checks.unique).count().where(F.col("count") > 1).count()
        failed[f"duplicate ({', '.join(checks.unique)})"] = duplicated
    return int(row[0]), {rule: rows for rule, rows in failed.items() if rows}


def _above(values: pa.ChunkedArray, bound: float) -> pa.ChunkedArray:
    """`values > bound` as DuckDB (and Spark) compare: NaN is above every number, where Arrow's IEEE `>` says no."""
    above = pc.greater(values, bound)
    if pa.types.is_floating(values.type):
        above = pc.or_(above, pc.is_nan(values))
    return above


def time_seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second
