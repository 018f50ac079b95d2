"""EMR Serverless: the StartJobRun request of a backfill or of the features job, built from settings that match
the Terraform outputs.

The application (Terraform `aws_emrserverless_application.spark`, release emr-7.9.0 = Spark 3.5.5 + Delta 3.3.0)
runs the custom image that carries the project (its parsers) and dagster-pipes; the job's entry point is
`resources/spark/entrypoint.py` uploaded under the artifacts prefix. Delta comes from EMR's own jars and
extensions, so the job's session uses native `format("delta")`.
"""

from __future__ import annotations

import posixpath
from datetime import date, time
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from resources.quality.row_policy import DEFAULT_MAX_BAD_ROW_SHARE
from resources.spark.session import DELTA_CATALOG, DELTA_EXTENSION

# Where EMR 7.x ships Delta's jars (delta-spark and delta-storage of the release's Delta version).
EMR_DELTA_JARS = ("/usr/share/aws/delta/lib/delta-spark.jar", "/usr/share/aws/delta/lib/delta-storage.jar")
ENTRY_POINT = "entrypoint.py"


class EmrServerlessSettings(BaseSettings):
    """`NEXUS_SPARK_*`: the Terraform outputs `spark_application_id`, `spark_job_role_arn` and
    `spark_artifacts_uri`, which Terraform also sets on the Dagster tasks."""

    model_config = SettingsConfigDict(env_prefix="NEXUS_SPARK_", extra="ignore")

    application_id: str = Field(default="", description="Terraform output spark_application_id.")
    job_role_arn: str = Field(default="", description="Terraform output spark_job_role_arn.")
    artifacts_uri: str = Field(default="", description="Terraform output spark_artifacts_uri (s3://.../spark).")
    image_python: str = Field(
        default="/usr/local/nexus/bin/python", description="The project's interpreter inside the custom EMR image."
    )
    executor_memory: str = "4g"
    max_executors: int = Field(default=20, ge=1)
    timeout_minutes: int = Field(default=240, ge=5)

    def require(self) -> None:
        missing = [n for n in ("application_id", "job_role_arn", "artifacts_uri") if not getattr(self, n)]
        if missing:
            names = ", ".join(f"NEXUS_SPARK_{n.upper()}" for n in missing)
            raise ValueError(f"EMR Serverless backfills need {names} (from `terraform output`)")


def spark_submit_parameters(
    settings: EmrServerlessSettings,
    lake_uri: str,
    *,
    max_bad_row_share: float = DEFAULT_MAX_BAD_ROW_SHARE,
    decision_time_utc: time | None = None,
) -> str:
    """Delta's jars and extensions, the image's interpreter, the lake location for driver and executors, the
    nightly row policy (so the job keeps exactly the rows the nightly ingest keeps) and, when given, the decision
    time the features job's point-in-time row check uses (the dbt var decision_time_utc)."""
    conf = {
        "spark.jars": ",".join(EMR_DELTA_JARS),
        "spark.sql.extensions": DELTA_EXTENSION,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.executor.memory": settings.executor_memory,
        "spark.dynamicAllocation.maxExecutors": str(settings.max_executors),
        "spark.emr-serverless.driverEnv.PYSPARK_PYTHON": settings.image_python,
        "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON": settings.image_python,
        "spark.executorEnv.PYSPARK_PYTHON": settings.image_python,
        "spark.emr-serverless.driverEnv.NEXUS_LAKE_URI": lake_uri,
        "spark.executorEnv.NEXUS_LAKE_URI": lake_uri,
        "spark.emr-serverless.driverEnv.NEXUS_MAX_BAD_ROW_SHARE": str(max_bad_row_share),
    }
    if decision_time_utc is not None:
        conf["spark.emr-serverless.driverEnv.NEXUS_DECISION_TIME_UTC"] = decision_time_utc.strftime("%H:%M:%S")
    return " ".join(f"--conf {k}={v}" for k, v in conf.items())


def job_arguments(source: str, *, start: date | None, end: date | None) -> list[str]:
    args = ["--source", source, "--engine", "spark"]
    if start:
        args += ["--start", start.isoformat()]
    if end:
        args += ["--end", end.isoformat()]
    return args


def start_job_run_request(
    settings: EmrServerlessSettings,
    *,
    source: str,
    lake_uri: str,
    start: date | None = None,
    end: date | None = None,
    client_token: str | None = None,
    max_bad_row_share: float = DEFAULT_MAX_BAD_ROW_SHARE,
    decision_time_utc: time | None = None,
) -> dict[str, Any]:
    """The `emr-serverless:StartJobRun` request (boto3 keyword arguments) of one backfill, or of the features job
    (`source="features"`, same entry point, image and Delta setup)."""
    settings.require()
    request: dict[str, Any] = {
        "applicationId": settings.application_id,
        "executionRoleArn": settings.job_role_arn,
        "name": f"nexus-backfill-{source}",
        "jobDriver": {
            "sparkSubmit": {
                "entryPoint": posixpath.join(settings.artifacts_uri.rstrip("/"), ENTRY_POINT),
                "entryPointArguments": job_arguments(source, start=start, end=end),
                "sparkSubmitParameters": spark_submit_parameters(
                    settings, lake_uri, max_bad_row_share=max_bad_row_share, decision_time_utc=decision_time_utc
                ),
            }
        },
        "configurationOverrides": {
            "monitoringConfiguration": {
                "s3MonitoringConfiguration": {"logUri": posixpath.join(settings.artifacts_uri.rstrip("/"), "logs/")}
            }
        },
        "executionTimeoutMinutes": settings.timeout_minutes,
        "tags": {"nexus/backfill": source},
    }
    if client_token:
        request["clientToken"] = client_token
    return request
