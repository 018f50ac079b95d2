"""The EMR Serverless job run of a backfill, built from settings and accepted by moto's EMR Serverless API."""

from __future__ import annotations

import re
import shlex
import shutil
from datetime import date, time

import boto3
import pytest
from moto import mock_aws

from resources.lake.storage import LakeStorage
from resources.settings import PROJECT_ROOT
from resources.spark import entrypoint
from resources.spark.emr import EMR_DELTA_JARS, EmrServerlessSettings, start_job_run_request
from resources.spark.mart_checks import MARTS_DIR, row_checks_for
from resources.spark.session import DELTA_CATALOG, DELTA_EXTENSION

ROLE = "arn:aws:iam::123456789012:role/nexus-emr-job"


def _conf(parameters: str) -> dict[str, str]:
    words = shlex.split(parameters)
    assert all(w == "--conf" for w in words[::2])
    return dict(w.split("=", 1) for w in words[1::2])


def test_the_job_run_request_is_built_from_settings_and_accepted_by_the_api(monkeypatch):
    with mock_aws():
        emr = boto3.client("emr-serverless", region_name="us-east-1")
        app = emr.create_application(
            name="nexus-spark",
            releaseLabel="emr-7.9.0",
            type="SPARK",
            imageConfiguration={"imageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/nexus-emr:latest"},
        )
        monkeypatch.setenv("NEXUS_SPARK_APPLICATION_ID", app["applicationId"])
        monkeypatch.setenv("NEXUS_SPARK_JOB_ROLE_ARN", ROLE)
        monkeypatch.setenv("NEXUS_SPARK_ARTIFACTS_URI", "s3://nexus-lake/prod/spark/")
        request = start_job_run_request(
            EmrServerlessSettings(),
            source="cot",
            lake_uri="s3://nexus-lake/prod",
            start=date(1986, 1, 1),
            max_bad_row_share=0.02,
        )
        started = emr.start_job_run(**request)  # botocore checks the request against the API's shape
        run = emr.get_job_run(applicationId=app["applicationId"], jobRunId=started["jobRunId"])["jobRun"]

    assert run["applicationId"] == app["applicationId"] and run["executionRole"] == ROLE
    assert run["releaseLabel"] == "emr-7.9.0"  # Spark 3.5.5 + Delta 3.3.0, as pinned in the spark extra
    submit = run["jobDriver"]["sparkSubmit"]
    assert submit["entryPoint"] == "s3://nexus-lake/prod/spark/entrypoint.py"
    assert submit["entryPointArguments"] == ["--source", "cot", "--engine", "spark", "--start", "1986-01-01"]
    conf = _conf(submit["sparkSubmitParameters"])
    assert conf["spark.sql.extensions"] == DELTA_EXTENSION
    assert conf["spark.sql.catalog.spark_catalog"] == DELTA_CATALOG
    assert conf["spark.jars"].split(",") == list(EMR_DELTA_JARS)
    assert conf["spark.emr-serverless.driverEnv.NEXUS_LAKE_URI"] == "s3://nexus-lake/prod"
    assert conf["spark.emr-serverless.driverEnv.PYSPARK_PYTHON"] == EmrServerlessSettings().image_python
    assert conf["spark.sql.parquet.outputTimestampType"] == "TIMESTAMP_MICROS"
    assert conf["spark.emr-serverless.driverEnv.NEXUS_MAX_BAD_ROW_SHARE"] == "0.02"  # the nightly row policy


def test_missing_terraform_outputs_are_named():
    with pytest.raises(ValueError, match="NEXUS_SPARK_APPLICATION_ID, NEXUS_SPARK_JOB_ROLE_ARN"):
        start_job_run_request(EmrServerlessSettings(), source="fred", lake_uri="s3://b/p")


def test_the_features_job_run_is_the_same_request_with_the_decision_time(monkeypatch):
    """The features job goes through the same entry point, image and Delta setup; its point-in-time row check
    needs the dbt var decision_time_utc, so the driver gets it."""
    with mock_aws():
        emr = boto3.client("emr-serverless", region_name="us-east-1")
        app = emr.create_application(name="nexus-spark", releaseLabel="emr-7.9.0", type="SPARK")
        monkeypatch.setenv("NEXUS_SPARK_APPLICATION_ID", app["applicationId"])
        monkeypatch.setenv("NEXUS_SPARK_JOB_ROLE_ARN", ROLE)
        monkeypatch.setenv("NEXUS_SPARK_ARTIFACTS_URI", "s3://nexus-lake/prod/spark")
        request = start_job_run_request(
            EmrServerlessSettings(), source="features", lake_uri="s3://nexus-lake/prod", decision_time_utc=time(21, 30)
        )
        started = emr.start_job_run(**request)
        run = emr.get_job_run(applicationId=app["applicationId"], jobRunId=started["jobRunId"])["jobRun"]

    submit = run["jobDriver"]["sparkSubmit"]
    assert run["name"] == "nexus-backfill-features" and run["executionRole"] == ROLE
    assert submit["entryPoint"] == "s3://nexus-lake/prod/spark/entrypoint.py"
    assert submit["entryPointArguments"] == ["--source", "features", "--engine", "spark"]
    conf = _conf(submit["sparkSubmitParameters"])
    assert conf["spark.sql.extensions"] == DELTA_EXTENSION and conf["spark.jars"].split(",") == list(EMR_DELTA_JARS)
    assert conf["spark.emr-serverless.driverEnv.NEXUS_DECISION_TIME_UTC"] == "21:30:00"
    assert conf["spark.emr-serverless.driverEnv.NEXUS_LAKE_URI"] == "s3://nexus-lake/prod"


def test_the_entry_point_refuses_a_window_for_the_features_job(capsys):
    with pytest.raises(SystemExit) as exited:
        entrypoint.main(["--source", "features", "--start", "2024-01-01"])
    assert exited.value.code == 2 and "features are rebuilt whole" in capsys.readouterr().err


def test_the_features_job_reads_its_decision_time_and_checks_from_the_environment(monkeypatch, tmp_path):
    """On EMR the installed package has no dbt project beside it: the image copies the marts' YAML and names it."""
    dockerfile = (PROJECT_ROOT / "infra" / "emr-image" / "Dockerfile").read_text()
    env = re.search(r"^ENV NEXUS_DBT_MARTS_DIR=(\S+)$", dockerfile, re.M)
    assert env and re.search(rf"^COPY dbt_project/models/marts {re.escape(env[1])}$", dockerfile, re.M)
    shutil.copytree(MARTS_DIR, tmp_path / "marts")
    monkeypatch.setenv("NEXUS_DBT_MARTS_DIR", str(tmp_path / "marts"))
    monkeypatch.setenv("NEXUS_DECISION_TIME_UTC", "21:30:00")
    params = entrypoint.features_params(LakeStorage(root_uri=str(tmp_path / "lake")))
    assert params.marts_dir == tmp_path / "marts" and params.decision_time_utc == time(21, 30)
    assert row_checks_for("fct_features_daily", params.marts_dir) == row_checks_for("fct_features_daily")
