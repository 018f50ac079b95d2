from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from resources.settings import PROJECT_ROOT, Settings, get_settings


def test_defaults_run_offline(monkeypatch):
    monkeypatch.delenv("NEXUS_LAKE_URI")
    s = get_settings()
    assert s.source_mode == "simulated"
    assert s.lake_uri == str((PROJECT_ROOT / "lake").resolve())
    assert not s.lake_is_s3
    assert s.storage_options() == {}
    assert s.start_date < s.end_date


def test_the_settings_follow_the_environment_with_no_cache_to_clear(monkeypatch):
    first = get_settings()
    assert get_settings() is first  # read once while the environment stays the same
    monkeypatch.setenv("NEXUS_SEED", "11")
    monkeypatch.setenv("FRED_API_KEY", "k-123")
    changed = get_settings()
    assert changed.seed == 11 and changed.fred_api_key is not None
    assert changed.fred_api_key.get_secret_value() == "k-123"
    monkeypatch.delenv("NEXUS_SEED")
    monkeypatch.delenv("FRED_API_KEY")
    assert get_settings().seed == first.seed and get_settings().fred_api_key is None


def test_relative_paths_resolve_against_the_project(monkeypatch):
    monkeypatch.setenv("NEXUS_DUCKDB_PATH", "lake/x.duckdb")
    monkeypatch.setenv("NEXUS_UNIVERSE_FILE", "resources/config/universe.yaml")
    s = Settings()
    assert s.duckdb_path == PROJECT_ROOT / "lake" / "x.duckdb"
    assert s.universe_file.is_absolute()


def test_s3_lake_takes_credentials_from_standard_aws_variables(monkeypatch):
    monkeypatch.setenv("NEXUS_LAKE_URI", "s3://bucket/prefix/")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
    s = Settings()
    assert s.lake_uri == "s3://bucket/prefix"
    opts = s.storage_options()
    assert opts["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert opts["AWS_ALLOW_HTTP"] == "true"
    assert opts["AWS_REGION"] == "eu-west-1"
    assert opts["AWS_SECRET_ACCESS_KEY"] == "very-secret-value"
    # secrets never show in repr or in the display dump
    assert "very-secret-value" not in repr(s)
    assert "very-secret-value" not in str(s.safe_dump())


def test_api_keys_use_their_usual_names_and_stay_secret(monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", "fred-key-123456")
    monkeypatch.setenv("EIA_API_KEY", "eia-key-654321")
    s = Settings()
    assert s.fred_api_key is not None and s.fred_api_key.get_secret_value() == "fred-key-123456"
    assert s.eia_api_key is not None
    dumped = str(s.safe_dump())
    assert "fred-key-123456" not in dumped and "eia-key-654321" not in dumped
    assert s.safe_dump()["fred_api_key"] == "(set)"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEXUS_SOURCE_MODE", "ftp"),
        ("NEXUS_LAKE_URI", "s3://"),
        ("NEXUS_LAKE_URI", "gs://bucket/x"),
        ("NEXUS_SEED", "not-a-number"),
        ("NEXUS_HTTP_MAX_ATTEMPTS", "0"),
    ],
)
def test_invalid_values_are_refused(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_date_range_must_be_ordered(monkeypatch):
    monkeypatch.setenv("NEXUS_START_DATE", "2024-01-02")
    monkeypatch.setenv("NEXUS_END_DATE", "2023-01-01")
    with pytest.raises(ValidationError, match="after"):
        Settings()


def test_dbt_env_uses_the_same_paths(monkeypatch, tmp_path: Path):
    s = Settings(start_date=date(2020, 1, 1))
    env = s.dbt_env()
    assert env["NEXUS_LAKE_URI"] == s.lake_uri
    assert env["NEXUS_DUCKDB_PATH"] == str(s.duckdb_path)
    assert env["NEXUS_DECISION_TIME_UTC"] == "22:00:00"
