"""The settings resource: what asset and check bodies take instead of reading the settings themselves."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from dagster import asset, materialize

from resources.settings import PROJECT_ROOT, Settings
from resources.settings_resource import SECRET_FIELDS, SettingsResource

SETTINGS_FREE = (
    "assets/marts",
    "assets/ingest",
    "assets/feeds",
    "assets/backfill",
    "assets/maintenance",
    "assets/models",
    "assets/signals",
    "assets/personas",
)


def test_it_gives_back_the_settings_it_was_made_from_with_no_secret_in_its_config(monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", "fred-secret-value")
    monkeypatch.setenv("NEXUS_ALERT_WEBHOOK_URL", "https://hooks.example/secret-path")
    monkeypatch.setenv("NEXUS_SIGNAL_HISTORY_DAYS", "3")
    settings = Settings()
    resource = SettingsResource.from_settings(settings)
    assert "secret" not in resource.values_json and set(json.loads(resource.values_json)).isdisjoint(SECRET_FIELDS)
    assert {"fred_api_key", "alert_webhook_url", "aws_secret_access_key"} <= SECRET_FIELDS
    assert resource.get() == settings  # secrets read from the environment by the step, the rest from the config
    assert resource.get().fred_api_key.get_secret_value() == "fred-secret-value"
    monkeypatch.setenv("NEXUS_SIGNAL_HISTORY_DAYS", "9")  # the config decides, not the environment of the step
    assert resource.get().signal_history_days == 3


def test_an_asset_body_gets_the_settings_of_the_code_location_through_it(monkeypatch):
    monkeypatch.setenv("NEXUS_VACUUM_RETENTION_HOURS", "12")

    @asset
    def probe(settings: SettingsResource) -> int:
        return settings.get().vacuum_retention_hours

    result = materialize([probe], resources={"settings": SettingsResource.from_settings(Settings())})
    assert result.output_for_node("probe") == 12


def test_the_stages_handed_the_resource_read_no_settings_themselves():
    found = subprocess.run(
        ["grep", "-rn", "get_settings()", *SETTINGS_FREE], cwd=PROJECT_ROOT, capture_output=True, text=True
    ).stdout.splitlines()
    # left: the skip probes, which `nexus run`'s preflight calls with (storage, window) before any step runs
    probes = [line for line in found if "_unchanged" in _enclosing_function(line)]
    assert found == probes, "\n".join(sorted(set(found) - set(probes)))


def _enclosing_function(grep_line: str) -> str:
    path, number, _ = grep_line.split(":", 2)
    lines = (PROJECT_ROOT / Path(path)).read_text().splitlines()[: int(number)]
    return next((line for line in reversed(lines) if line.startswith("def ")), "")
