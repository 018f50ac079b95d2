"""Data-quality suites for silver tables, run with Great Expectations on a pandas frame.

A suite is declared as data (a pydantic model) beside each source's table spec; `validate` turns it into GE
expectations and returns a plain outcome the Dagster asset check renders. Checks that GE cannot express per
group (dates increasing within a key, versions ordered by availability) are computed here as boolean columns
and checked with GE like any other column.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from functools import lru_cache
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

log = logging.getLogger(__name__)


class ColumnRange(BaseModel):
    column: str
    min_value: float | None = None
    max_value: float | None = None
    mostly: float = Field(default=1.0, ge=0, le=1)
    where: dict[str, str | bool] | None = Field(default=None, description="only rows where column == value")


class RowRule(BaseModel):
    """A boolean expression over columns (pandas `eval` syntax) that must hold on `mostly` of the rows."""

    name: str
    expression: str
    mostly: float = Field(default=1.0, ge=0, le=1)


class SilverSuite(BaseModel):
    name: str
    unique_keys: list[str]
    not_null: list[str] = Field(default_factory=list)
    ranges: list[ColumnRange] = Field(default_factory=list)
    rules: list[RowRule] = Field(default_factory=list)
    series_keys: list[str] = Field(default_factory=list, description="key of one series, for ordering checks")
    date_column: str | None = None


def suite_fingerprint(suite: SilverSuite) -> str:
    """A hash of the suite's definition: a verdict recorded with a commit holds only for the same suite."""
    return hashlib.sha256(suite.model_dump_json().encode()).hexdigest()[:16]


class ExpectationOutcome(BaseModel):
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int | None = None
    detail: str = ""


class SuiteOutcome(BaseModel):
    suite: str
    success: bool
    rows: int
    results: list[ExpectationOutcome]

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success]


@lru_cache(maxsize=1)
def _context() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def warm_up() -> None:
    """Import Great Expectations and build its context now (~4 s on one core), e.g. while waiting for another
    process, instead of in the first ingest's validation."""
    _context()


def suite_columns(suite: SilverSuite, names: list[str]) -> list[str]:
    """The columns of a table (`names`, in their order) that `validate(frame, suite)` reads: a frame of only these
    gets the same outcome, so a gate can load just them (FRED series: 8 of 19 columns)."""
    used = {*suite.unique_keys, *suite.not_null, *suite.series_keys, "version", "available_at"}
    used |= {suite.date_column} if suite.date_column else set()
    for rng in suite.ranges:
        used |= {rng.column, *(rng.where or {})}
    for rule in suite.rules:
        used |= {c for c in names if re.search(rf"\b{re.escape(c)}\b", rule.expression)}
    return [c for c in names if c in used or c.startswith("_")]  # `_...` columns are checked as derived flags


def _derived_columns(frame: pd.DataFrame, suite: SilverSuite) -> pd.DataFrame:
    out = frame.copy()
    if suite.series_keys and "version" in out.columns and "available_at" in out.columns and suite.date_column:
        key = [*suite.series_keys, suite.date_column]
        ordered = out.sort_values([*key, "version"])
        later_first = ordered.groupby(key, sort=False)["available_at"].diff() < pd.Timedelta(0)
        out["_versions_ordered_by_availability"] = ~later_first.reindex(out.index).fillna(False)
        first = ordered.groupby(key, sort=False)["version"].transform("min")
        out["_first_version_is_1"] = (first == 1).reindex(out.index)
    if suite.series_keys and suite.date_column and "version" in out.columns:
        latest = out.sort_values("version").drop_duplicates([*suite.series_keys, suite.date_column], keep="last")
        latest = latest.sort_values([*suite.series_keys, suite.date_column])
        steps = latest.groupby(suite.series_keys, sort=False)[suite.date_column].diff()
        out["_dates_increase_per_series"] = True
        out.loc[latest.index, "_dates_increase_per_series"] = ~(steps <= pd.Timedelta(0)).fillna(False).to_numpy()
    for rule in suite.rules:  # a rule with a null input cannot be evaluated: `not_null` expectations judge nulls
        involved = [c for c in frame.columns if re.search(rf"\b{re.escape(c)}\b", rule.expression)]
        unknown = out[involved].isna().any(axis=1) if involved else False
        out[f"_rule_{rule.name}"] = (out.eval(rule.expression).fillna(False).astype(bool) | unknown).astype(bool)
    return out


def validate(frame: pd.DataFrame, suite: SilverSuite) -> SuiteOutcome:
    """Run the suite on `frame`; never raises for a data problem, only reports it."""
    import great_expectations as gx

    ctx = _context()
    ds_name = f"nexus_{suite.name}"
    try:
        datasource = ctx.data_sources.get(ds_name)
    except Exception:  # GE raises its own KeyError subclasses here depending on the version
        datasource = ctx.data_sources.add_pandas(ds_name)
    try:
        asset = datasource.get_asset("frame")
    except Exception:
        asset = datasource.add_dataframe_asset("frame")
    try:
        batch_def = asset.get_batch_definition("whole")
    except Exception:
        batch_def = asset.add_batch_definition_whole_dataframe("whole")

    data = _derived_columns(frame, suite)
    expectations: list[Any] = [gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=suite.unique_keys)]
    expectations += [gx.expectations.ExpectColumnValuesToNotBeNull(column=c) for c in suite.not_null]
    for rng in suite.ranges:
        column = rng.column
        if rng.where:
            mask = pd.Series(True, index=data.index)
            for col, value in rng.where.items():
                mask &= data[col] == value
            column = f"_range_{rng.column}_{'_'.join(str(v) for v in rng.where.values())}"
            data[column] = data[rng.column].where(mask)
        expectations.append(
            gx.expectations.ExpectColumnValuesToBeBetween(
                column=column, min_value=rng.min_value, max_value=rng.max_value, mostly=rng.mostly
            )
        )
    for col in [c for c in data.columns if c.startswith("_") and not c.startswith("_range_")]:
        mostly = next((r.mostly for r in suite.rules if f"_rule_{r.name}" == col), 1.0)
        expectations.append(gx.expectations.ExpectColumnValuesToBeInSet(column=col, value_set=[True], mostly=mostly))

    gx_suite = gx.ExpectationSuite(name=suite.name, expectations=expectations)
    batch = batch_def.get_batch(batch_parameters={"dataframe": data})
    result = batch.validate(gx_suite, result_format="SUMMARY")
    outcomes = []
    for res in result.results:
        cfg = res.expectation_config
        kwargs = dict(cfg.kwargs)
        column = kwargs.get("column") or ",".join(kwargs.get("column_list", []) or [])
        unexpected = res.result.get("unexpected_count") if res.result else None
        sample = res.result.get("partial_unexpected_list", [])[:3] if res.result else []
        outcomes.append(
            ExpectationOutcome(
                expectation=cfg.type,
                column=column or None,
                success=bool(res.success),
                unexpected_count=unexpected,
                detail="" if res.success else f"examples: {sample}",
            )
        )
    return SuiteOutcome(suite=suite.name, success=bool(result.success), rows=len(frame), results=outcomes)
