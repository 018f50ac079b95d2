"""The project's Dagster instance: SQLite by default, PostgreSQL when configured, one writer per table group."""

import yaml
from dagster import DagsterInstance

from pipelines.concurrency import DOWNSTREAM_WRITER, run_queue_limits
from pipelines.definitions import INGEST_ASSETS
from resources.dagster_instance import GENERATED_MARK, POSTGRES_URL_ENV, ensure_dagster_home, instance_config
from resources.settings import PROJECT_ROOT, get_settings


def test_default_home_is_sqlite_with_telemetry_off_and_loads(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = ensure_dagster_home(get_settings())
    text = (home / "dagster.yaml").read_text()
    assert text.startswith(GENERATED_MARK) and "postgres" not in text
    with DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert type(instance.event_log_storage).__name__ == "BatchSqliteEventLogStorage"
        assert instance.event_log_storage._base_dir == str((home / "history" / "runs").resolve())  # Dagster's place
        assert instance.run_coordinator.__class__.__name__ == "QueuedRunCoordinator"


def test_postgres_is_configured_by_variable_name_never_by_value(tmp_path, monkeypatch):
    secret_url = "postgresql://nexus:s3cretpw@127.0.0.1:5432/dagster"
    monkeypatch.setenv(POSTGRES_URL_ENV, secret_url)
    config = instance_config(get_settings(), tmp_path)
    assert config["storage"] == {"postgres": {"postgres_url": {"env": POSTGRES_URL_ENV}}}
    assert "event_log_storage" not in config  # PostgreSQL holds the event log too
    assert "s3cretpw" not in yaml.safe_dump(config)


def test_a_home_a_person_wrote_is_kept(tmp_path, monkeypatch):
    home = tmp_path / "custom_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ensure_dagster_home(get_settings())
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"


def test_run_queue_limits_one_run_per_writer_for_every_ingest_and_downstream():
    writers = [d.node_def.name for d in INGEST_ASSETS] + [DOWNSTREAM_WRITER]
    limits = instance_config(get_settings(), PROJECT_ROOT)["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert sorted(limits, key=str) == sorted(run_queue_limits(writers), key=str)


def test_make_serve_creates_the_sqlite_storage_once_before_its_two_processes(tmp_path, monkeypatch):
    """The daemon and the webserver started together on a fresh home both created SQLite's schema and left two
    alembic heads; `make serve` now creates it first, in one process."""
    import sqlite3

    from resources.dagster_instance import serve_home

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    home = serve_home(get_settings())
    for database in (home / "history" / "runs.db", home / "schedules" / "schedules.db"):
        with sqlite3.connect(database) as connection:
            assert connection.execute("select count(*) from alembic_version").fetchone() == (1,), database
