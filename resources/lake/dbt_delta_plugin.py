"""dbt-duckdb's delta plugin, reading through a native pyarrow filesystem.

profiles.yml registers this module under the alias `delta`, so sources keep `meta: {plugin: delta, ...}`.
The only change from the stock plugin: the dataset is scanned with a native filesystem instead of delta-rs's
Python handler, which can abort the dbt process at exit (see resources.lake.delta.scan). An S3 lake's endpoint
and region are the plugin's `config` in profiles.yml (filled from the standard AWS variables that Dagster and
`nexus dbt` export from the settings); its credentials are neither plugin config (dbt logs the profile's plugins)
nor source YAML (which would store them in the manifest): delta-rs and pyarrow read them from the standard AWS
variables themselves.

A source may set `empty_if_missing: {column: arrow type}`: an absent table then reads as no rows of that schema
(the lake's as-of date, which a lake written by hand or by an older version lacks: its marts are not capped).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
from dbt.adapters.duckdb.plugins.delta import Plugin as StockDeltaPlugin
from dbt.adapters.duckdb.utils import SourceConfig
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError
from pydantic import BaseModel, ConfigDict

from resources.lake.storage import LakeStorage
from resources.settings import aws_storage_options


class DeltaPluginConfig(BaseModel):
    """The plugin's `config` in profiles.yml: where an S3 lake is (an empty value, env_var's default: unset).
    dbt-duckdb hands each plugin the profile's DuckDB `settings` too, merged under its own config: ignored."""

    model_config = ConfigDict(extra="ignore")

    aws_endpoint_url: str = ""
    aws_region: str = ""

    def storage_options(self) -> dict[str, str]:
        return aws_storage_options(endpoint_url=self.aws_endpoint_url or None, region=self.aws_region or None)


class Plugin(StockDeltaPlugin):
    def initialize(self, config: dict[str, Any]) -> None:
        self.s3 = DeltaPluginConfig.model_validate(config or {})

    def load(self, source_config: SourceConfig) -> Any:
        if "delta_table_path" not in source_config:
            raise Exception("'delta_table_path' is a required argument for the delta table!")
        path = str(source_config["delta_table_path"]).rstrip("/")
        options = self.s3.storage_options() if path.startswith("s3://") else {}
        storage = LakeStorage(root_uri=path, storage_options=options)
        empty = source_config.get("empty_if_missing", None)
        try:
            table = DeltaTable(path, storage_options=options or None)
        except TableNotFoundError:
            if not empty:
                raise
            return pa.schema([(name, pa.type_for_alias(kind)) for name, kind in empty.items()]).empty_table()
        version = source_config.get("as_of_version", None) or source_config.get("as_of_datetime", None)
        if version:
            table.load_as_version(version)
        filesystem = pafs.SubTreeFileSystem(storage.fs_path(path), storage.filesystem)
        return table.to_pyarrow_dataset(filesystem=filesystem)
