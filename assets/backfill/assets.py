"""One backfill asset per source, and one for the features job, thin: each launches `resources/spark/entrypoint.py`
through Pipes.

Here the launcher runs it as a subprocess (local[2], Delta through delta-rs); in production on EMR Serverless
(`PipesEMRServerlessClient`, request from `resources.spark.emr`). Each source's asset sits in the pool
`lake-<source>` that the source's nightly ingest uses too, so the two never commit to the same tables at once;
`backfill/features` (gold/marts/fct_features_daily) runs in a job tagged as the `downstream` writer instead
(`pipelines.jobs.backfill_job`), which the run queue never runs beside the marts build that publishes gold.
"""

import os
import sys
from datetime import date
from typing import Literal

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, Config, ConfigurableResource, asset
from dagster._core.pipes.client import PipesClientCompletedInvocation

from resources.lake.write_lock import pool_for
from resources.settings import Settings
from resources.settings_resource import SettingsResource
from resources.spark.features_job import INPUTS
from resources.spark.plans import BACKFILL_SOURCES

FEATURES = "features"  # the entry point's `--source features`: gold/marts/fct_features_daily on Spark


class BackfillConfig(Config):
    engine: Literal["local", "spark"] = "spark"
    start: str | None = None  # YYYY-MM-DD: rebuild only rows dated from here
    end: str | None = None


class SparkBackfillLauncher(ConfigurableResource):
    """Where the backfill job runs: `subprocess` (this machine) or `emr-serverless` (NEXUS_SPARK_* settings)."""

    mode: Literal["subprocess", "emr-serverless"] = "subprocess"

    def launch(
        self, context: AssetExecutionContext, source: str, config: BackfillConfig, settings: Settings
    ) -> PipesClientCompletedInvocation:
        start = date.fromisoformat(config.start) if config.start else None
        end = date.fromisoformat(config.end) if config.end else None
        if source == FEATURES and (start or end):
            raise ValueError("features are rebuilt whole: start/end do not apply")
        lake_uri = settings.lake_uri
        if self.mode == "emr-serverless":
            import boto3
            from dagster_aws.pipes import PipesEMRServerlessClient

            from resources.spark.emr import EmrServerlessSettings, start_job_run_request

            request = start_job_run_request(
                EmrServerlessSettings(),
                source=source,
                lake_uri=lake_uri,
                start=start,
                end=end,
                max_bad_row_share=settings.max_bad_row_share,
                decision_time_utc=settings.decision_time_utc,
            )
            client = PipesEMRServerlessClient(client=boto3.client("emr-serverless"))
            return client.run(context=context, start_job_run_params=request)  # type: ignore[arg-type]
        from dagster import PipesSubprocessClient

        from resources.spark.emr import job_arguments

        args = job_arguments(source, start=start, end=end)
        args[args.index("--engine") + 1] = config.engine
        command = [sys.executable, "-m", "resources.spark.entrypoint", *args]
        env = {**os.environ, **settings.dbt_env()}  # the lake and the decision time, as the nightly path has them
        return PipesSubprocessClient().run(context=context, command=command, env=env)


def build_backfill_asset(source: str) -> AssetsDefinition:
    description = (
        "gold/marts/fct_features_daily rebuilt from the upstream gold marts by the Spark features job (through "
        "Pipes), gated by the mart's dbt row checks before its one commit."
        if source == FEATURES
        else f"{source}: every silver table re-derived from all bronze payloads (Spark job through Pipes)."
    )

    @asset(
        key=AssetKey(["backfill", source]),
        group_name="backfill",
        pool=None if source == FEATURES else pool_for(source),
        deps=[AssetKey(["gold", "marts", name]) for name in INPUTS] if source == FEATURES else None,
        kinds={"spark", "delta"},
        description=description,
    )
    def _backfill(
        context: AssetExecutionContext,
        config: BackfillConfig,
        backfill_launcher: SparkBackfillLauncher,
        settings: SettingsResource,
    ):
        return backfill_launcher.launch(context, source, config, settings.get()).get_materialize_result()

    return _backfill


BACKFILL_ASSETS = [build_backfill_asset(s) for s in (*BACKFILL_SOURCES, FEATURES)]
