"""One place for every setting: read from `NEXUS_*` variables (and `.env`), defaults run offline.

Dagster, dbt (through `profiles.yml` and the env that `dbt_env()` builds) and the CLI all read paths from here,
so they cannot drift apart. Secrets are `SecretStr`: they never print, and `safe_dump()` masks them.
"""

from __future__ import annotations

import os
from datetime import date, time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]

SourceMode = Literal["simulated", "live", "files"]

# Day D's decision time: the settings' default, and the simulated publisher's when no settings are passed to it.
DEFAULT_DECISION_TIME_UTC = time(22, 0)


def _resolve(path: Path) -> Path:
    """Relative paths are relative to the project root, so the UI, CLI and tests agree wherever they start."""
    return path if path.is_absolute() else (PROJECT_ROOT / path)


class Settings(BaseSettings):
    """Runtime configuration of Nexus. See the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="NEXUS_",
        env_file=(str(PROJECT_ROOT / ".env"),),
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    lake_uri: str = Field(
        default="./lake",
        description="Lake root: a local folder or s3://bucket/prefix. Zones bronze/, silver/, gold/ live under it.",
    )
    source_mode: SourceMode = Field(default="simulated", description="simulated | live | files")
    files_dir: Path | None = Field(default=None, description="Folder of publisher files for files mode.")
    duckdb_path: Path = Field(
        default=Path("lake/warehouse/nexus.duckdb"),
        description="DuckDB file dbt builds into (always local, even when the lake is on S3).",
    )
    published_duckdb_path: Path = Field(
        default=Path("lake/gold/nexus_marts.duckdb"),
        description="Read-only DuckDB file for analysts, rebuilt aside and swapped in atomically.",
    )
    dagster_home: Path = Field(default=Path(".dagster_home"), description="Dagster instance folder.")
    cache_dir: Path = Field(
        default=Path("lake/cache"),
        description="Local cache of data rebuilt on demand (the simulated world); always local, safe to delete.",
    )
    feeds_uri: str = Field(
        default="./lake/feeds",
        description="Root of client deliveries: a local folder or s3://bucket/prefix (one sub-folder per client).",
    )
    feeds_presign_expiry_s: int = Field(
        default=3 * 24 * 3600,
        ge=60,
        le=7 * 24 * 3600,
        description=(
            "Lifetime of presigned feed URLs for clients that set none: 60 s to 7 days (the S3 SigV4 maximum); "
            "3 days by default, so links written on a Friday evening still work on Monday."
        ),
    )
    clients_file: Path = Field(default=Path("resources/config/clients.yaml"))
    universe_file: Path = Field(default=Path("resources/config/universe.yaml"))
    exposures_file: Path = Field(
        default=Path("resources/config/exposures.yaml"), description="The hedging desk's exposures."
    )
    leak_audits_file: Path = Field(
        default=Path("resources/config/leak_audits.yaml"),
        description="Groups above the leak audit's threshold that a person audited and explained.",
    )
    cost_bps: float = Field(
        default=5.0, ge=0, le=500, description="Trading cost per unit of turnover in the evaluation's Sharpe ratios."
    )
    seed: int = Field(default=7, description="Seed of the simulated publisher and of model training.")
    start_date: date = Field(default=date(2016, 1, 1), description="Default first date of `nexus run`.")
    end_date: date = Field(default=date(2025, 12, 31), description="Default last date of `nexus run`.")
    partitions_start: date = Field(default=date(2000, 1, 3), description="First partition of daily assets.")
    signal_history_days: int = Field(
        default=31,
        ge=1,
        le=3660,
        description="Calendar days of daily signal and persona partitions `nexus run` materializes up to the end date.",
    )
    publisher_clock_file: Path | None = Field(
        default=None,
        description="Simulated mode: JSON file holding the publisher's clock (release sensors read it); "
        "unset: the wall clock.",
    )
    release_sensor_interval_s: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="Seconds between two ticks of a release sensor (how often it asks whether an expected release "
        "is out); the end-to-end daemon test uses a few seconds.",
    )
    automation_interval_s: int = Field(
        default=30,
        ge=1,
        le=3600,
        description="Seconds between two evaluations of nexus_automation (Dagster's default is 30); each one reads "
        "the whole graph's state, so on a small machine a short interval takes CPU from the runs.",
    )
    publisher_misprints_file: Path | None = Field(
        default=None,
        description="Simulated mode: JSON list of values the publisher shows wrong on some days, then corrects "
        "(resources/simulated/misprints.py); unset: none.",
    )
    dagster_postgres_url: SecretStr | None = Field(
        default=None,
        description="postgresql://user:password@host:port/db for the Dagster instance's storage (default SQLite).",
    )
    alert_webhook_url: SecretStr | None = Field(
        default=None, description="Slack-compatible incoming webhook for run and check failures (a secret)."
    )
    vacuum_retention_hours: int = Field(
        default=168,
        ge=0,
        description="`nexus maintain`: data files a Delta table stopped using more than this long ago are deleted; "
        "time travel (`--stored-at`, `nexus feeds reproduce`) reaches back at least this far.",
    )
    alert_smtp_host: str | None = Field(
        default=None, description="SMTP server for e-mail alerts (unset: no e-mail); see resources/alerts.py."
    )
    alert_smtp_port: int = Field(default=587, ge=1, le=65535)
    alert_smtp_starttls: bool = Field(default=True, description="Upgrade the SMTP connection with STARTTLS.")
    alert_smtp_user: str | None = Field(default=None, description="SMTP login (with NEXUS_ALERT_SMTP_PASSWORD).")
    alert_smtp_password: SecretStr | None = Field(default=None, description="SMTP password (a secret).")
    alert_email_from: str = Field(default="nexus-alerts@localhost", description="Sender of e-mail alerts.")
    alert_email_to: str | None = Field(
        default=None, description="Comma-separated recipients of e-mail alerts (needed with NEXUS_ALERT_SMTP_HOST)."
    )
    decision_time_utc: time = Field(
        default=DEFAULT_DECISION_TIME_UTC,
        description="Decision time of day D: facts with available_at after D at this UTC time are not used.",
    )

    # Publisher endpoints (live mode); simulated mode points clients at a local simulated publisher instead.
    cboe_base_url: str = "https://cdn.cboe.com"
    cftc_base_url: str = "https://publicreporting.cftc.gov"
    fred_base_url: str = "https://api.stlouisfed.org/fred"
    eia_base_url: str = "https://api.eia.gov/v2"
    coinmetrics_base_url: str = "https://community-api.coinmetrics.io/v4"

    cot_combined: bool = Field(
        default=False, description="COT: futures-and-options combined reports instead of futures-only."
    )

    max_bad_row_share: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Bad rows above this share of a payload reject it whole; below it they go to quarantine alone.",
    )

    http_timeout_s: float = Field(default=30.0, gt=0, description="Longest wait for one connect or read.")
    http_deadline_s: float = Field(
        default=300.0,
        gt=0,
        description="Longest a whole request may take, every retry and wait included: a publisher that trickles "
        "its body cannot hold an ingest past it.",
    )
    live_incremental: bool = Field(
        default=True,
        description="Live mode asks each publisher only for what may have changed since the lake's last observation.",
    )
    live_lookback_days: int = Field(
        default=35, ge=0, description="Incremental window: days before each series' last observation asked again."
    )
    live_full_refresh_days: int = Field(
        default=7,
        ge=0,
        description="A full-history fetch at least this often (days of as-of time), catching older restatements; "
        "0 = every fetch is full.",
    )
    http_max_attempts: int = Field(default=5, ge=1, le=20)
    http_backoff_s: float = Field(default=0.5, ge=0, description="First retry delay; doubles with jitter.")
    http_max_backoff_s: float = Field(default=30.0, ge=0)

    # Secrets: publisher API keys keep their usual names, with or without the NEXUS_ prefix.
    fred_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("FRED_API_KEY", "NEXUS_FRED_API_KEY")
    )
    eia_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("EIA_API_KEY", "NEXUS_EIA_API_KEY")
    )
    cftc_app_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("CFTC_APP_TOKEN", "SOCRATA_APP_TOKEN", "NEXUS_CFTC_APP_TOKEN"),
    )

    # S3 (production lake or moto in tests): the standard AWS variables, never NEXUS_-prefixed.
    aws_endpoint_url: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
    )
    aws_region: str | None = Field(default=None, validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))
    aws_access_key_id: SecretStr | None = Field(default=None, validation_alias="AWS_ACCESS_KEY_ID")
    aws_secret_access_key: SecretStr | None = Field(default=None, validation_alias="AWS_SECRET_ACCESS_KEY")
    aws_session_token: SecretStr | None = Field(default=None, validation_alias="AWS_SESSION_TOKEN")

    @field_validator("lake_uri")
    @classmethod
    def _normalise_lake_uri(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("NEXUS_LAKE_URI is empty")
        if value.startswith("s3://"):
            if len(value) <= len("s3://") or value[len("s3://") :].startswith("/"):
                raise ValueError(f"NEXUS_LAKE_URI {value!r} has no bucket")
            return value.rstrip("/")
        if "://" in value and not value.startswith("file://"):
            raise ValueError(f"NEXUS_LAKE_URI {value!r}: only local paths and s3:// are supported")
        path = Path(value.removeprefix("file://")).expanduser()
        return str(_resolve(path).resolve())

    @field_validator("feeds_uri")
    @classmethod
    def _normalise_feeds_uri(cls, value: str) -> str:
        value = value.strip()
        if value.startswith("s3://"):
            if len(value) <= len("s3://"):
                raise ValueError("NEXUS_FEEDS_URI has no bucket")
            return value.rstrip("/")
        if "://" in value:
            raise ValueError(f"NEXUS_FEEDS_URI {value!r}: only local paths and s3:// are supported")
        return str(_resolve(Path(value).expanduser()).resolve())

    @field_validator(
        "duckdb_path",
        "published_duckdb_path",
        "dagster_home",
        "cache_dir",
        "universe_file",
        "clients_file",
        "exposures_file",
        "leak_audits_file",
    )
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return _resolve(value.expanduser())

    @field_validator("files_dir", "publisher_clock_file")
    @classmethod
    def _absolute_optional(cls, value: Path | None) -> Path | None:
        return None if value is None else _resolve(value.expanduser())

    @model_validator(mode="after")
    def _check_range(self) -> Settings:
        if self.start_date > self.end_date:
            raise ValueError(f"NEXUS_START_DATE {self.start_date} is after NEXUS_END_DATE {self.end_date}")
        if self.partitions_start > self.start_date:
            raise ValueError("NEXUS_PARTITIONS_START must be on or before NEXUS_START_DATE")
        return self

    @property
    def lake_is_s3(self) -> bool:
        return self.lake_uri.startswith("s3://")

    def storage_options(self) -> dict[str, str]:
        """delta-rs / object-store options for the lake; empty for a local lake. Contains secrets: never log."""
        return self.aws_storage_options() if self.lake_is_s3 else {}

    def aws_storage_options(self) -> dict[str, str]:
        """Object-store options from the standard AWS variables (lake on S3, S3 feed targets)."""
        return aws_storage_options(
            endpoint_url=self.aws_endpoint_url,
            region=self.aws_region,
            access_key_id=self.aws_access_key_id.get_secret_value() if self.aws_access_key_id else None,
            secret_access_key=self.aws_secret_access_key.get_secret_value() if self.aws_secret_access_key else None,
            session_token=self.aws_session_token.get_secret_value() if self.aws_session_token else None,
        )

    def dbt_env(self) -> dict[str, str]:
        """Variables `profiles.yml` and the dbt sources read: the same paths Dagster uses."""
        return {
            "NEXUS_LAKE_URI": self.lake_uri,
            "NEXUS_DUCKDB_PATH": str(self.duckdb_path),
            "NEXUS_DECISION_TIME_UTC": self.decision_time_utc.strftime("%H:%M:%S"),
            "NEXUS_UNIVERSE_FILE": str(self.universe_file),
        }

    def safe_dump(self) -> dict[str, object]:
        """Settings for display: secrets shown only as set or unset."""
        out: dict[str, object] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                out[name] = "(set)"
            elif value is None and name.endswith(("_key", "_token", "_key_id")):
                out[name] = "(unset)"
            else:
                out[name] = value
        return out


# Variables `Settings` reads besides NEXUS_*: the publishers' keys and the standard AWS names (aliases above).
_OTHER_VARIABLES = tuple(
    sorted(
        {
            name
            for field in Settings.model_fields.values()
            if isinstance(field.validation_alias, AliasChoices | str)
            for name in (
                field.validation_alias.choices
                if isinstance(field.validation_alias, AliasChoices)
                else [field.validation_alias]
            )
            if isinstance(name, str) and not name.startswith("NEXUS_")
        }
    )
)


def _environment() -> tuple[tuple[str, str], ...]:
    """The variables that decide the settings, as they are now."""
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("NEXUS_") or k in _OTHER_VARIABLES))


@lru_cache(maxsize=8)
def _settings_for(environment: tuple[tuple[str, str], ...]) -> Settings:
    return Settings()


def aws_storage_options(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
) -> dict[str, str]:
    """delta-rs / object-store options for S3 from values passed in (the settings', or a Dagster resource's).
    Contains secrets: never log."""
    options: dict[str, str] = {}
    if endpoint_url:
        options["AWS_ENDPOINT_URL"] = endpoint_url
        if endpoint_url.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    if region:
        options["AWS_REGION"] = region
    if access_key_id:
        options["AWS_ACCESS_KEY_ID"] = access_key_id
    if secret_access_key:
        options["AWS_SECRET_ACCESS_KEY"] = secret_access_key
    if session_token:
        options["AWS_SESSION_TOKEN"] = session_token
    return options


def get_settings() -> Settings:
    """The process's settings, read at the edge (CLI, code location, asset bodies) and passed in from there.

    Read once per state of the `NEXUS_*` (and key/AWS) variables: a process that changes its environment (the CLI's
    options, a test) gets settings that match it, with no cache to clear. `.env` is read once, as before.
    """
    return _settings_for(_environment())


# Nothing needs to clear the cache now (it follows the environment); kept so that older callers still work.
# `cache_info().misses` counts the reads of the settings (tests assert that an import makes none).
get_settings.cache_clear = _settings_for.cache_clear  # type: ignore[attr-defined]
get_settings.cache_info = _settings_for.cache_info  # type: ignore[attr-defined]
