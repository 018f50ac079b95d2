"""Backfill assets: a source's silver tables re-derived from bronze by the Spark job, launched through Dagster Pipes."""
