"""The lake resource gets its settings passed in: for an S3 lake the secrets are EnvVar references, so what Dagster
shows (the resource's config in the UI, its repr) names the variables, and only the running step sees the values."""

from __future__ import annotations

import pytest
from dagster import build_resources

from resources.lake.resource import LakeResource, SecretOutsideTheEnvironmentError
from resources.settings import Settings

SECRET = "very-secret-value"


@pytest.fixture
def s3_environment(monkeypatch) -> Settings:
    for name, value in {
        "NEXUS_LAKE_URI": "s3://bucket/prefix",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIATEST",
        "AWS_SECRET_ACCESS_KEY": SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return Settings()


def test_s3_secrets_are_shown_by_their_variable_and_reach_the_lake_at_run_time(s3_environment):
    resource = LakeResource.from_settings(s3_environment)

    shown = resource.get_resource_definition().config_schema.default_value
    assert shown["aws_secret_access_key"] == {"env": "AWS_SECRET_ACCESS_KEY"}
    assert shown["aws_access_key_id"] == {"env": "AWS_ACCESS_KEY_ID"}
    assert SECRET not in str(shown) and SECRET not in repr(resource)
    with build_resources({"lake": resource}) as resources:
        storage = resources.lake.storage()
    assert storage.storage_options == s3_environment.storage_options()  # what the settings would give
    assert storage.storage_options["AWS_SECRET_ACCESS_KEY"] == SECRET


def test_a_secret_only_in_the_env_file_is_refused_with_its_name(s3_environment):
    with pytest.raises(SecretOutsideTheEnvironmentError, match="AWS_SECRET_ACCESS_KEY"):
        LakeResource.from_settings(s3_environment, environ={"AWS_ACCESS_KEY_ID": "AKIATEST"})


def test_a_local_lake_needs_no_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    resource = LakeResource.from_settings(Settings(lake_uri=str(tmp_path / "lake")))
    with build_resources({"lake": resource}) as resources:
        assert resources.lake.storage().storage_options == {}
