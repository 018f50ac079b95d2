"""The Dagster instance a Nexus home gets: the project's dagster.yaml, plus PostgreSQL storage when configured.

Without PostgreSQL the event log is Dagster's SQLite one, storing a batch of events in one transaction
(resources/dagster_event_log.py): same files under `history/runs`, so a home keeps its runs.

The PostgreSQL URL is a secret: the written file only names the variable (`env: NEXUS_DAGSTER_POSTGRES_URL`), and
Dagster reads it from the environment when the instance starts.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from resources.settings import PROJECT_ROOT, Settings

TEMPLATE = PROJECT_ROOT / "dagster.yaml"
POSTGRES_URL_ENV = "NEXUS_DAGSTER_POSTGRES_URL"
LEGACY_DEFAULT = "telemetry:\n  enabled: false\n"  # what earlier versions wrote: replaced as well
GENERATED_MARK = (
    "# Written by Nexus from the project's dagster.yaml; edits are replaced (remove this line to keep them)."
)


def instance_config(settings: Settings, home: Path) -> dict[str, object]:
    """The instance's configuration for `home`: the project template, with Postgres storage when a URL is
    configured, else the batching SQLite event log where Dagster's default one keeps its files."""
    config = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    if settings.dagster_postgres_url is not None:
        config["storage"] = {"postgres": {"postgres_url": {"env": POSTGRES_URL_ENV}}}
    else:
        config["event_log_storage"] = {
            "module": "resources.dagster_event_log",
            "class": "BatchSqliteEventLogStorage",
            "config": {"base_dir": str(home.resolve() / "history" / "runs")},
        }
    return config


def write_instance_yaml(home: Path, settings: Settings) -> Path:
    """Write $DAGSTER_HOME/dagster.yaml unless a person wrote their own there (no generated mark)."""
    path = home / "dagster.yaml"
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if current is not None and current != LEGACY_DEFAULT and not current.startswith(GENERATED_MARK):
        return path
    body = yaml.safe_dump(instance_config(settings, home), sort_keys=False)
    path.write_text(f"{GENERATED_MARK}\n{body}", encoding="utf-8")
    return path


def ensure_dagster_home(settings: Settings) -> Path:
    """Create the project's Dagster home (telemetry off) and point DAGSTER_HOME at it unless already set."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    write_instance_yaml(home, settings)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def create_instance_storage(home: Path) -> None:
    """Open the instance once, so one process creates its storage (SQLite's databases and schema) before
    `make serve` starts the daemon and the webserver together: started on a fresh home, both created the schema
    at once and left two alembic heads, after which no process could open the instance."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)):
        pass


def serve_home(settings: Settings) -> Path:
    """The Dagster home `make serve` starts the daemon and the webserver on: written, and its storage created.
    `make serve` reads the settings at its edge (`python -m resources.dagster_instance`) and passes them here."""
    home = ensure_dagster_home(settings)
    create_instance_storage(home)
    return home


if __name__ == "__main__":  # `make serve`'s edge: the settings are read here, once, from the environment
    from resources.settings import get_settings

    print("DAGSTER_HOME", serve_home(get_settings()))
