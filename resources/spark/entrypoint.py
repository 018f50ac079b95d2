"""The backfill job's entry point: `spark-submit entrypoint.py --source fred` (EMR) or a Pipes subprocess (here).

Runs under Dagster Pipes when launched by Dagster (reports one materialization with rows, files and Spark time),
and plainly otherwise. On EMR the session has Delta natively; here it starts local[2] with the delta-rs adapter.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date

from resources.lake.storage import LakeStorage
from resources.quality.row_policy import DEFAULT_MAX_BAD_ROW_SHARE, RowPolicy
from resources.spark.backfill import BackfillResult, run_backfill


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True)
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

    from dagster_pipes import DAGSTER_PIPES_CONTEXT_ENV_VAR, open_dagster_pipes

    storage = LakeStorage(root_uri=os.environ.get("NEXUS_LAKE_URI", "./lake"))
    began = time.perf_counter()
    if DAGSTER_PIPES_CONTEXT_ENV_VAR not in os.environ:  # run by hand or plain spark-submit
        result = _run(storage, args)
        print(result.model_dump_json(indent=2))
        return 2 if result.errors else 0
    with open_dagster_pipes() as pipes:
        pipes.log.info(f"backfill {args.source} on {args.engine}")
        result = _run(storage, args)
        for error in result.errors:
            pipes.log.warning(error)
        pipes.report_asset_materialization(
            metadata=materialization_metadata(result, time.perf_counter() - began), data_version=None
        )
    return 2 if result.errors else 0


def _run(storage: LakeStorage, args: argparse.Namespace) -> BackfillResult:
    return run_backfill(
        storage,
        args.source,
        engine=args.engine,
        run_id=os.environ.get("DAGSTER_RUN_ID", f"backfill-{int(time.time())}"),
        start=args.start,
        end=args.end,
        spark_master=args.master,
        policy=RowPolicy(max_bad_row_share=args.max_bad_row_share),
    )


if __name__ == "__main__":
    raise SystemExit(main())
