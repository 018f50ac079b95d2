"""The lake as a Dagster resource, its settings passed in.

The root URI, the S3 endpoint and the region are plain config. The S3 secrets are config too, but bound to the
standard AWS variables with `dagster.EnvVar`: the UI, the run config and the logs show the variable's name, never its
value, and Dagster resolves it in the process that runs the step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dagster import ConfigurableResource, EnvVar

from resources.lake.storage import LakeStorage
from resources.settings import Settings, aws_storage_options

# resource field -> the standard AWS variable a secret is read from (Settings reads the same names)
SECRET_VARIABLES = {
    "aws_access_key_id": "AWS_ACCESS_KEY_ID",
    "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "aws_session_token": "AWS_SESSION_TOKEN",
}


class SecretOutsideTheEnvironmentError(ValueError):
    """An S3 secret set only in `.env`: Dagster resolves resource secrets from the process environment."""


class LakeResource(ConfigurableResource):
    """Bronze, silver, gold and quarantine zones under one root URI (local folder or s3://bucket/prefix)."""

    lake_uri: str
    aws_endpoint_url: str | None = None
    aws_region: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str] = os.environ) -> LakeResource:
        """The lake of `settings`; for S3, each secret the settings hold as an EnvVar reference to its variable."""
        if not settings.lake_is_s3:
            return cls(lake_uri=settings.lake_uri)
        held = [(field, name) for field, name in SECRET_VARIABLES.items() if getattr(settings, field) is not None]
        outside = [name for _, name in held if not environ.get(name)]
        if outside:
            raise SecretOutsideTheEnvironmentError(
                f"{', '.join(outside)} set only in .env: export it (dagster dev loads .env itself) so that Dagster "
                "can pass it to the lake resource without showing it"
            )
        return cls(
            lake_uri=settings.lake_uri,
            aws_endpoint_url=settings.aws_endpoint_url,
            aws_region=settings.aws_region,
            **{field: EnvVar(name) for field, name in held},
        )

    def storage(self) -> LakeStorage:
        if not self.lake_uri.startswith("s3://"):
            return LakeStorage(root_uri=self.lake_uri)
        options = aws_storage_options(
            endpoint_url=self.aws_endpoint_url,
            region=self.aws_region,
            access_key_id=self.aws_access_key_id,
            secret_access_key=self.aws_secret_access_key,
            session_token=self.aws_session_token,
        )
        return LakeStorage(root_uri=self.lake_uri, storage_options=options)
