"""dbt's delta plugin on an S3 lake (moto's server): where the lake is comes from the profile's plugin config, the
credentials from the standard AWS variables, and no `Settings` is built inside dbt."""

from __future__ import annotations

import pyarrow as pa
import pytest
import yaml
from dbt.adapters.duckdb.utils import SourceConfig

from resources.lake.dbt_delta_plugin import DeltaPluginConfig, Plugin
from resources.lake.delta import overwrite_table
from resources.lake.storage import LakeStorage
from resources.settings import PROJECT_ROOT, aws_storage_options

pytestmark = pytest.mark.s3
TABLE = "s3://nexus-lake/prod/silver/reference/lake_as_of"


def _source(path: str) -> SourceConfig:
    return SourceConfig("lake_as_of", "lake_as_of", "src_reference", None, {"delta_table_path": path}, [])


def test_the_plugin_reads_an_s3_table_where_its_profile_config_points(moto_s3, monkeypatch):
    rows = pa.table({"as_of_date": pa.array([1, 2], pa.int64())})
    writer = LakeStorage(
        root_uri="s3://nexus-lake/prod",
        storage_options=aws_storage_options(
            endpoint_url=moto_s3, region="us-east-1", access_key_id="testing", secret_access_key="testing-secret-value"
        ),
    )
    overwrite_table(writer, TABLE, rows)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)  # only the credentials stay in the environment
    plugin = Plugin("delta", {"aws_endpoint_url": moto_s3, "aws_region": "us-east-1"})
    assert plugin.load(_source(TABLE)).to_table().sort_by("as_of_date") == rows


def test_the_profile_gives_the_plugin_its_config_and_no_credentials():
    profile = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "profiles.yml").read_text())
    [plugin] = profile["nexus"]["outputs"]["local"]["plugins"]
    assert plugin["module"] == "resources.lake.dbt_delta_plugin"
    assert set(plugin["config"]) == set(DeltaPluginConfig.model_fields)
    assert not any(word in str(plugin["config"]).upper() for word in ("SECRET", "ACCESS_KEY", "TOKEN"))
