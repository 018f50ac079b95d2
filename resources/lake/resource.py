"""The lake as a Dagster resource. Only the root URI is resource config; credentials come from the environment."""

from __future__ import annotations

from dagster import ConfigurableResource

from resources.lake.storage import LakeStorage
from resources.settings import get_settings


class LakeResource(ConfigurableResource):
    """Bronze, silver, gold and quarantine zones under one root URI (local folder or s3://bucket/prefix)."""

    lake_uri: str

    def storage(self) -> LakeStorage:
        options = get_settings().aws_storage_options() if self.lake_uri.startswith("s3://") else {}
        return LakeStorage(root_uri=self.lake_uri, storage_options=options)
