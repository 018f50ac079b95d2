"""The Spark jobs' entry point: `spark-submit entrypoint.py --source fred` (EMR) or a Pipes subprocess (here).

`--source cot|fred|coinmetrics` re-derives that source's silver tables from bronze; `--source features` rebuilds
gold/marts/fct_features_daily from the upstream gold marts (`features_job`). Runs under Dagster Pipes when launched
by Dagster (reports one materialization with rows, files and Spark time), and plainly otherwise. On EMR the session
has Delta natively; here it starts local[2] with the delta-rs adapter.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import date

from pydantic import TypeAdapter

from resources.errors import NexusError
from resources.lake.storage import LakeStorage
from resources.quality.row_policy import DEFAULT_MAX_BAD_ROW_SHARE, RowPolicy
from resources.spark.backfill import BackfillResult, run_backfill
from resources.spark.features_job import FeaturesJobParams, FeaturesResult

FEATURES = "features"
SPARK_CONF_ENV = "NEXUS_SPARK_CONF"  # JSON object of extra Spark settings for a local session


def materialization_metadata(result: BackfillResult, spark_seconds: float) -> dict[str, object]:
    """What the Dagster UI shows for one backfill."""
    return {
        "engine": result.engine,
        "delta_engine": result.delta_engine,
        "rows": result.rows,
        "files": result.files,
        "spark_seconds": round(spark_seconds, 3),
        "tables": {
            "raw_value": {
                t.table: t.model_dump(include={"rows", "files", "payloads", "committed", "gate"}) for t in result.tables
            },
            "type": "json",
        },
        "quarantined_payloads": sum(t.quarantined_payloads for t in result.tables),
        "errors": len(result.errors),
    }


def features_metadata(result: FeaturesResult, spark_seconds: float) -> dict[str, object]:
    """What the Dagster UI shows for one rebuild of fct_features_daily (its row checks' verdict included)."""
    return {
        "engine": result.engine,
        "delta_engine": result.delta_engine,
        "table": f"gold/marts/{result.table}",
        "rows": result.rows,
        "files": result.files,
        "spark_seconds": round(spark_seconds, 3),
        "checks": result.gate,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True, help="cot, fred, coinmetrics, or features")
    parser.add_argument("--engine", default="spark", choices=("local", "spark"))
    parser.add_argument("--start", type=date.fromisoformat)
    parser.add_argument("--end", type=date.fromisoformat)
    parser.add_argument("--master", default=os.environ.get("NEXUS_SPARK_MASTER", "local[2]"))
    parser.add_argument(
        "--max-bad-row-share",
        type=float,
        default=float(os.environ.get("NEXUS_MAX_BAD_ROW_SHARE", DEFAULT_MAX_BAD_ROW_SHARE)),
        help="The nightly path's row quarantine policy (NEXUS_MAX_BAD_ROW_SHARE).",
    )
    args = parser.parse_args(argv)
    if args.source == FEATURES and (args.start or args.end):
        parser.error("features are rebuilt whole: --start/--end do not apply")

    from dagster_pipes import DAGSTER_PIPES_CONTEXT_ENV_VAR, open_dagster_pipes

    storage = LakeStorage(root_uri=os.environ.get("NEXUS_LAKE_URI", "./lake"))
    began = time.perf_counter()
    if DAGSTER_PIPES_CONTEXT_ENV_VAR not in os.environ:  # run by hand or plain spark-submit
        if args.source == FEATURES:
            try:
                print(_run_features(storage, args).model_dump_json(indent=2))
            except NexusError as exc:
                print(f"{type(exc).__name__}: {exc}")
                return 2
            return 0
        result = _run(storage, args)
        print(result.model_dump_json(indent=2))
        return 2 if result.errors else 0
    with open_dagster_pipes() as pipes:
        pipes.log.info(f"{'rebuild' if args.source == FEATURES else 'backfill'} {args.source} on {args.engine}")
        if args.source == FEATURES:  # a refused candidate raises: Pipes reports it and the asset fails
            features = _run_features(storage, args)
            pipes.report_asset_materialization(
                metadata=features_metadata(features, time.perf_counter() - began), data_version=None
            )
            return 0
        result = _run(storage, args)
        for error in result.errors:
            pipes.log.warning(error)
        pipes.report_asset_materialization(
            metadata=materialization_metadata(result, time.perf_counter() - began), data_version=None
        )
    return 2 if result.errors else 0


def _spark_conf() -> dict[str, str]:
    raw = os.environ.get(SPARK_CONF_ENV)
    return TypeAdapter(dict[str, str]).validate_python(json.loads(raw)) if raw else {}


def _run(storage: LakeStorage, args: argparse.Namespace) -> BackfillResult:
    return run_backfill(
        storage,
        args.source,
        engine=args.engine,
        run_id=os.environ.get("DAGSTER_RUN_ID", f"backfill-{int(time.time())}"),
        start=args.start,
        end=args.end,
        spark_master=args.master,
        spark_conf=_spark_conf(),
        policy=RowPolicy(max_bad_row_share=args.max_bad_row_share),
    )


def _run_features(storage: LakeStorage, args: argparse.Namespace) -> FeaturesResult:
    """Spark: the job on this lake (`features_params`). Local: dbt builds the model, the nightly step publishes it."""
    from resources.spark.features_job import rebuild_features, require_inputs, run_features_job

    if args.engine == "local":
        from resources.settings import get_settings

        return rebuild_features(get_settings(), "local")
    from resources.spark.session import SparkConfig, build_session

    require_inputs(storage)  # no session start for a lake without its upstream marts
    spark = build_session(SparkConfig(master=args.master, app_name="nexus-features", extra_conf=_spark_conf()))
    return run_features_job(spark, features_params(storage), storage)


def features_params(storage: LakeStorage) -> FeaturesJobParams:
    """The job's parameters from the environment the launcher gives it: the decision time the dbt var has
    (NEXUS_DECISION_TIME_UTC, set on EMR's driver by `emr.spark_submit_parameters`) and where the mart's YAML is
    (NEXUS_DBT_MARTS_DIR, set in the EMR image, whose installed package has no dbt project beside it)."""
    env = {"decision_time_utc": "NEXUS_DECISION_TIME_UTC", "marts_dir": "NEXUS_DBT_MARTS_DIR"}
    given = {field: os.environ[name] for field, name in env.items() if os.environ.get(name)}
    return FeaturesJobParams(lake_uri=storage.root_uri, run_id=os.environ.get("DAGSTER_RUN_ID", FEATURES), **given)


def run_as_process() -> int:
    """The job as its own process (Pipes subprocess, spark-submit): `main`, then the local JVM it started is reaped
    (`session.stop_local_jvm`), so the JVM ends cleanly and its CPU counts in the launcher's usage. Callers of
    `main` in a process with a session of its own keep that session."""
    try:
        return main()
    finally:
        from resources.spark.session import stop_local_jvm

        stop_local_jvm()


if __name__ == "__main__":
    raise SystemExit(run_as_process())
