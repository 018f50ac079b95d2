"""The settings as a Dagster resource (key `settings`), so that asset and check bodies take them as a parameter.

`pipelines/definitions.build_definitions(settings)` makes it from the settings the code location was built with.
Its config is every setting that is not a secret, as one JSON text (what the UI and run config show; Dagster's
config maps hold no nulls, and an unset setting must stay unset rather than be read again); the secrets (`SecretStr`
fields: publisher keys, AWS credentials, the alert webhook, the Postgres URL) are not config at all: `Settings`
reads them from the process environment (and `.env`) when a step builds its `Settings`, as the CLI does.
"""

from __future__ import annotations

import json
from functools import lru_cache

from dagster import ConfigurableResource
from pydantic import SecretStr

from resources.settings import Settings

SECRET_FIELDS = frozenset(
    name for name, field in Settings.model_fields.items() if SecretStr in getattr(field.annotation, "__args__", ())
)


@lru_cache(maxsize=8)
def _settings_from(values_json: str) -> Settings:
    return Settings(**json.loads(values_json))


class SettingsResource(ConfigurableResource):
    """Every setting but the secrets, as JSON; `get()` gives the `Settings` they make."""

    values_json: str

    @classmethod
    def from_settings(cls, settings: Settings) -> SettingsResource:
        values = settings.model_dump(mode="json", exclude=set(SECRET_FIELDS))
        return cls(values_json=json.dumps(values, sort_keys=True))

    def get(self) -> Settings:
        """The settings (secrets from the environment), built once per distinct config in a process."""
        return _settings_from(self.values_json)
