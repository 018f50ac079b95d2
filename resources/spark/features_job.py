"""fct_features_daily on Spark: the model input, computed where one DuckDB process runs out at scale.

A per-model profile of the dbt build at 1x/4x/16x the default universe (README, "Features on Spark") made this
mart the bottleneck: the slowest mart at 16x and the fastest-growing (exponent ~1.3 between 4x and 16x). This job
is the same computation as dbt_project/models/marts/features/fct_features_daily.sql, step for step: the price
features (trailing 60/120/250-day return sums, only over full windows), then ASOF joins of the market-wide marts
(volatility, macro, energy) and of each instrument's COT positioning (the latest row dated on or before the day),
the on-chain row of the same day, each feature cast to double, rounded to 1e-10 as DuckDB rounds
(`round(x * 1e10) / 1e10`, ties away from zero) and negative zero turned into zero.

It reads the upstream marts from gold (gold/marts/<mart>, published after dbt built them) and writes
gold/marts/fct_features_daily, the table dbt's build is published to and the models read, through the engine seam
(`delta_io_for`: native Delta on EMR, the delta-rs adapter here), gated by the mart's own dbt row checks
(`mart_checks`, as Spark aggregates) on the staged files before the one commit. It is chosen explicitly
(`nexus backfill features --engine spark`), never instead of dbt silently.
"""

from __future__ import annotations

import json
import time
from datetime import time as clock_time
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pyarrow as pa
from deltalake import DeltaTable
from pydantic import BaseModel, Field

from resources.errors import NexusError
from resources.lake.storage import LakeStorage
from resources.lake.tables import UTC_TS
from resources.spark.delta_io import delta_io_for
from resources.spark.mart_checks import MARTS_DIR, MartCheckError, checked_rows_spark, row_checks_for

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from resources.settings import Settings

MART = "fct_features_daily"
INPUTS = (
    "fct_prices_daily",
    "dim_instruments",
    "fct_vol_term_structure_daily",
    "fct_macro_daily",
    "fct_energy_daily",
    "fct_cot_positioning_daily",
    "fct_onchain_daily",
)
# the model's feature columns, in its order (fct_features_daily.sql, `features`)
FEATURES = (
    "close", "ret_1d", "ret_5d", "ret_20d", "ret_60d", "ret_120d", "ret_250d", "rvol_20d", "rvol_60d", "drawdown",
    "dist_ma200", "vix", "vix_vix3m_ratio", "vix9d_vix_ratio", "vix_pct_1y", "skew_pct_1y", "vix_backwardation",
    "cot_spec_net_share", "cot_spec_z52", "cot_spec_pct52", "cot_smart_net_share", "cot_smart_z52",
    "cot_divergence", "cot_divergence_z52", "cot_index", "cot_days_since_report",
    "dgs10", "curve_10y2y", "curve_10y3m", "dgs10_chg_20d", "usd_ret_20d",
    "crude_surprise_z", "crude_change_vs_5y", "gas_storage_vs_5y_pct", "wti_roll_yield", "wti_c1_c2", "wti_basis",
    "ng_roll_yield", "energy_days_since_release",
    "mvrv", "mvrv_z365", "nvt", "active_addr_mom", "hashrate_mom", "top100_share",
)  # fmt: skip
RETURN_WINDOWS = (60, 120, 250)
SCHEMA = pa.schema(
    [
        pa.field("symbol", pa.string()),
        pa.field("trade_date", pa.date32()),
        pa.field("asset_class", pa.string()),
        pa.field("calendar", pa.string()),
        *(pa.field(f, pa.float64()) for f in FEATURES),
        pa.field("decision_at", UTC_TS),
        pa.field("max_available_at_used", UTC_TS),
    ]
)


class FeaturesJobParams(BaseModel):
    """What one run of the job needs (the CLI and the Pipes entry point build it from settings)."""

    lake_uri: str = Field(description="The lake root: reads gold/marts/<inputs>, writes gold/marts/fct_features_daily.")
    decision_time_utc: clock_time = Field(
        default=clock_time(22), description="The dbt var decision_time_utc (NEXUS_DECISION_TIME_UTC): the PIT check."
    )
    run_id: str = "features"
    marts_dir: Path = Field(
        default=MARTS_DIR,
        description="dbt_project/models/marts: the mart's row_checks YAML (NEXUS_DBT_MARTS_DIR in the EMR image).",
    )


class FeaturesResult(BaseModel):
    """What one run wrote, for the CLI and the Dagster materialization."""

    table: str = MART
    rows: int
    files: int
    seconds: float
    engine: str = "spark"
    delta_engine: str
    gate: str


def rounded(column: Column) -> Column:
    """DuckDB's `round(cast(x as double), 10) + 0.0`: std::round(x * 1e10) / 1e10, ties away from zero, then -0.0
    made 0.0. Spark's round of a double at scale 0 is HALF_UP on the double's shortest decimal form, which reads as
    a tie only when the double is exactly one (x.5 is exact in binary), so both give the same double (tested)."""
    from pyspark.sql import functions as F

    return F.round(column.cast("double") * F.lit(1e10), 0) / F.lit(1e10) + F.lit(0.0)


def asof_left(left: DataFrame, right: DataFrame, *, by: list[str], on: str) -> DataFrame:
    """DuckDB's `left ASOF LEFT JOIN right ON left.by = right.by AND left.on >= right.on`: each left row gets the
    right row with the greatest `on` at or before its own (per `by`), or nulls. `right` must be unique on
    (by, on), as the marts' grains are. No range join, linear in rows:
    - per instrument (`by`): left and right rows sorted together once per key (a right row before a left row of
      the same date) and each left row takes the last right row seen, carried as one struct (a struct is never
      null, so nulls inside the right row are kept, not filled from an earlier row): one shuffle, no join;
    - market-wide (no `by`): the same on the distinct dates only (a few thousand), then one equi-join on the date,
      so the instrument rows are never gathered into one partition."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    values = [c for c in right.columns if c not in (*by, on)]
    if not by:
        dates = left.select(on).distinct()
        return left.join(
            asof_left(dates.withColumn("_one", F.lit(1)), right.withColumn("_one", F.lit(1)), by=["_one"], on=on).drop(
                "_one"
            ),
            on,
            "left",
        )
    side = "_side"
    rows = left.withColumn(side, F.lit(1)).withColumn(
        "_right", F.lit(None).cast(right.select(F.struct(*values)).schema[0].dataType)
    )
    points = right.select(*by, on, F.lit(0).alias(side), F.struct(*values).alias("_right"))
    for name in left.columns:
        if name not in (*by, on):
            points = points.withColumn(name, F.lit(None).cast(left.schema[name].dataType))
    order = Window.partitionBy(*by).orderBy(on, side).rowsBetween(Window.unboundedPreceding, 0)
    carried = rows.unionByName(points).withColumn("_right", F.last("_right", ignorenulls=True).over(order))
    return carried.where(F.col(side) == 1).select(*left.columns, *(F.col(f"_right.{c}").alias(c) for c in values))


def features_frame(spark: SparkSession, marts: dict[str, DataFrame]) -> DataFrame:
    """fct_features_daily from its upstream marts (name -> DataFrame), in the model's columns and types."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    prices, instruments = marts["fct_prices_daily"], marts["dim_instruments"]
    days = Window.partitionBy("symbol").orderBy("trade_date")
    window_returns = []
    for n in RETURN_WINDOWS:
        frame = days.rowsBetween(-(n - 1), 0)
        full = F.count("return_1d").over(frame) == n
        window_returns.append(F.when(full, F.sum("return_1d").over(frame)).alias(f"ret_{n}d"))
    price_features = prices.join(instruments.select("symbol", "asset_class", "calendar"), "symbol").select(
        "symbol",
        "trade_date",
        "asset_class",
        "calendar",
        "decision_at",
        "close",
        F.col("return_1d").alias("ret_1d"),
        F.col("return_5d").alias("ret_5d"),
        F.col("return_20d").alias("ret_20d"),
        *window_returns,
        F.col("realized_vol_20d").alias("rvol_20d"),
        F.col("realized_vol_60d").alias("rvol_60d"),
        "drawdown",
        F.col("distance_from_200d_mean").alias("dist_ma200"),
        F.col("max_available_at_used").alias("prices_known_at"),
    )
    vol = marts["fct_vol_term_structure_daily"].select(
        "trade_date",
        "vix",
        "vix_vix3m_ratio",
        "vix9d_vix_ratio",
        "vix_pct_1y",
        "skew_pct_1y",
        F.when(F.col("vix_vix3m_ratio") > 1, F.lit(1.0))
        .when(F.col("vix_vix3m_ratio").isNotNull(), F.lit(0.0))
        .alias("vix_backwardation"),
        F.col("max_available_at_used").alias("vol_known_at"),
    )
    macro = marts["fct_macro_daily"].select(
        "trade_date",
        "dgs10",
        "curve_10y2y",
        "curve_10y3m",
        F.col("dgs10_change_20d_bp").alias("dgs10_chg_20d"),
        F.col("usd_broad_return_20d").alias("usd_ret_20d"),
        F.col("max_available_at_used").alias("macro_known_at"),
    )
    energy = marts["fct_energy_daily"].select(
        "trade_date",
        F.col("crude_stocks_surprise_z").alias("crude_surprise_z"),
        (F.col("crude_stocks_change") - F.col("crude_stocks_change_5y_avg")).alias("crude_change_vs_5y"),
        F.col("working_gas_vs_5y_avg_pct").alias("gas_storage_vs_5y_pct"),
        F.col("wti_roll_yield_annualized").alias("wti_roll_yield"),
        F.col("wti_c1_c2_spread").alias("wti_c1_c2"),
        "wti_basis",
        F.col("ng_roll_yield_annualized").alias("ng_roll_yield"),
        F.to_date(F.from_utc_timestamp("petroleum_available_at", "America/New_York")).alias("_petroleum_day"),
        F.col("max_available_at_used").alias("energy_known_at"),
    )
    sign = F.col("cot_sign")
    positioning = (
        marts["fct_cot_positioning_daily"]
        .where(F.col("symbol").isNotNull())
        .select(
            "symbol",
            "trade_date",
            (F.col("speculator_net_share") * sign).alias("cot_spec_net_share"),
            (F.col("speculator_z52") * sign).alias("cot_spec_z52"),
            F.when(sign == 1, F.col("speculator_pct52"))
            .otherwise(1 - F.col("speculator_pct52"))
            .alias("cot_spec_pct52"),
            (F.col("smart_money_net_share") * sign).alias("cot_smart_net_share"),
            (F.col("smart_money_z52") * sign).alias("cot_smart_z52"),
            (F.col("smart_speculator_divergence") * sign).alias("cot_divergence"),
            (F.col("divergence_z52") * sign).alias("cot_divergence_z52"),
            F.when(sign == 1, F.col("speculator_cot_index52"))
            .otherwise(100 - F.col("speculator_cot_index52"))
            .alias("cot_index"),
            F.col("report_date").alias("_report_date"),
            F.col("max_available_at_used").alias("positioning_known_at"),
        )
    )
    onchain = marts["fct_onchain_daily"].select(
        "symbol",
        "trade_date",
        "mvrv",
        F.col("mvrv_z_365d").alias("mvrv_z365"),
        F.col("nvt_adj").alias("nvt"),
        F.col("active_addresses_mom_7d_28d").alias("active_addr_mom"),
        F.col("hash_rate_mom_30d_60d").alias("hashrate_mom"),
        F.col("top100_supply_share").alias("top100_share"),
        F.col("max_available_at_used").alias("onchain_known_at"),
    )
    joined = asof_left(price_features, vol, by=[], on="trade_date")
    joined = asof_left(joined, macro, by=[], on="trade_date")
    joined = asof_left(joined, energy, by=[], on="trade_date")
    joined = asof_left(joined, positioning, by=["symbol"], on="trade_date")
    joined = joined.join(onchain, ["symbol", "trade_date"], "left")
    joined = joined.withColumn("energy_days_since_release", F.datediff("trade_date", "_petroleum_day")).withColumn(
        "cot_days_since_report", F.datediff("trade_date", "_report_date")
    )
    known = F.col("prices_known_at")
    return joined.select(
        F.col("symbol").cast("string"),
        F.col("trade_date").cast("date"),
        F.col("asset_class").cast("string"),
        F.col("calendar").cast("string"),
        *(rounded(F.col(f)).alias(f) for f in FEATURES),
        F.col("decision_at").cast("timestamp"),
        F.greatest(
            known,
            *(
                F.coalesce(F.col(c), known)
                for c in (
                    "vol_known_at",
                    "macro_known_at",
                    "energy_known_at",
                    "positioning_known_at",
                    "onchain_known_at",
                )
            ),
        )
        .cast("timestamp")
        .alias("max_available_at_used"),
    )


class MissingMartsError(NexusError, FileNotFoundError):
    """The upstream gold marts the Spark features job reads are not in the lake (run `nexus marts` first)."""


def require_inputs(storage: LakeStorage) -> None:
    """MissingMartsError naming the upstream gold marts that are missing (before any Spark work starts)."""
    missing = [
        name
        for name in INPUTS
        if not DeltaTable.is_deltatable(storage.uri("gold", "marts", name), storage.storage_options or None)
    ]
    if missing:
        raise MissingMartsError(
            f"no gold marts {', '.join(missing)} under {storage.uri('gold', 'marts')}: the Spark job reads the upstream"
            " marts as the last build published them (run `nexus marts` first)"
        )


def run_features_job(
    spark: SparkSession, params: FeaturesJobParams, storage: LakeStorage | None = None
) -> FeaturesResult:
    """Read the upstream gold marts, compute fct_features_daily, check it with the mart's dbt row checks on the
    staged files and commit it as gold/marts/fct_features_daily (a refused candidate raises MartCheckError and
    commits nothing)."""
    began = time.perf_counter()
    storage = storage or LakeStorage(root_uri=params.lake_uri)
    io = delta_io_for(spark, storage)
    require_inputs(storage)
    marts = {name: io.read(storage.uri("gold", "marts", name)) for name in INPUTS}
    checks = row_checks_for(MART, params.marts_dir)
    verdict: dict[str, object] = {}

    def gate(candidate: DataFrame) -> dict[str, str]:  # Spark aggregates over the staged files: no rows collected
        rows, failed = checked_rows_spark(candidate, checks, decision_time_utc=params.decision_time_utc)
        if failed:
            raise MartCheckError(MART, failed)
        verdict.update(run_id=params.run_id, passed=True, rows=rows, checks=len(checks.columns))
        return {"nexus.mart_checks": json.dumps(verdict)}

    stats = io.write(
        features_frame(spark, marts),
        storage.uri("gold", "marts", MART),
        schema=SCHEMA,
        mode="overwrite",
        frame_audit=gate,
    )
    return FeaturesResult(
        rows=stats.rows,
        files=stats.files,
        seconds=time.perf_counter() - began,
        delta_engine=stats.engine,
        gate=json.dumps(verdict),
    )


def rebuild_features(
    settings: Settings, engine: Literal["local", "spark"], *, spark: SparkSession | None = None
) -> FeaturesResult:
    """`nexus backfill features --engine ...`: rebuild gold/marts/fct_features_daily from its upstream marts.

    local: dbt builds the one model (its tests included) in the warehouse and it is published to gold, as the
    nightly path does. spark: this job, reading the upstream marts from gold (published by the last dbt build)."""
    storage = LakeStorage.from_settings(settings)
    if engine == "spark":
        from resources.spark.session import SparkConfig, build_session

        require_inputs(storage)  # no session start (~6-20 s) for a lake without its upstream marts
        session = spark or build_session(SparkConfig(app_name="nexus-features"))
        params = FeaturesJobParams(lake_uri=storage.root_uri, decision_time_utc=settings.decision_time_utc)
        return run_features_job(session, params, storage)
    from resources.lake.gold import publish_to_delta
    from resources.marts_build import run_dbt

    began = time.perf_counter()
    run_dbt(["build", "--select", MART], settings)
    [published] = publish_to_delta(storage, settings.duckdb_path, [("marts", MART)])
    files = len(DeltaTable(published.uri, storage_options=storage.storage_options or None).file_uris())
    return FeaturesResult(
        rows=published.rows,
        files=files,
        seconds=time.perf_counter() - began,
        engine="local",
        delta_engine="delta-rs",
        gate="dbt build: the model's data tests",
    )
