"""The Spark session every backfill uses, built from a pydantic config so local tests and EMR agree on settings.

Locally the session runs `local[N]` without Delta's jars (Maven is unreachable here), so Delta goes through the
delta-rs adapter (`resources.spark.delta_io`). On EMR Serverless the job's session already carries Delta's
extensions and catalog; `has_native_delta` tells the two apart.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"

# Settings both engines need for byte-identical results: timestamps as UTC microseconds (delta-rs and pyarrow read
# them as timestamp[us, UTC]; Spark's INT96 default would not round-trip), Arrow for Python exchange.
PARITY_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
    "spark.sql.parquet.compression.codec": "zstd",
}

# For tiny data (tests, a laptop's small backfills): a JVM that compiles only with C1 and collects with one thread
# (a short run never repays C2's compile time, and two cores are shared with the Python workers), no adaptive
# re-planning (its extra stages cost more than they save on a few thousand rows), and the UI off. Never on EMR.
TINY_DATA_CONF: dict[str, str] = {
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
}


class SparkConfig(BaseModel):
    """How to start a local session (EMR starts its own from the job run's sparkSubmitParameters)."""

    master: str = Field(default="local[2]", description="Spark master; local[N] on one machine.")
    app_name: str = "nexus-backfill"
    shuffle_partitions: int = Field(default=4, ge=1, description="Small by default: backfills here are modest.")
    driver_memory: str = "1g"
    extra_conf: dict[str, str] = Field(default_factory=dict)


def build_session(config: SparkConfig | None = None) -> SparkSession:
    """Start (or join) a Spark session with the parity settings; the workers run this interpreter."""
    from pyspark.sql import SparkSession

    config = config or SparkConfig()
    # Executors must import the project's parsers: run them on the very interpreter (venv) the driver uses.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(config.master)
        .appName(config.app_name)
        .config("spark.sql.shuffle.partitions", str(config.shuffle_partitions))
        .config("spark.default.parallelism", str(config.shuffle_partitions))
        .config("spark.driver.memory", config.driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "true")
    )
    for key, value in {**PARITY_CONF, **config.extra_conf}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    for key, value in PARITY_CONF.items():  # a joined session may predate us: make the parity settings hold
        spark.conf.set(key, value)
    return spark


def has_native_delta(spark: SparkSession) -> bool:
    """True when the session can read and write `format("delta")` itself (Delta's extension and jars loaded)."""
    extensions = spark.conf.get("spark.sql.extensions", "") or ""
    if DELTA_EXTENSION not in extensions:
        return False
    try:
        spark.sparkContext._jvm.java.lang.Class.forName(DELTA_EXTENSION)  # type: ignore[union-attr]
    except Exception:
        return False
    return True


def stop_local_jvm(timeout_s: float = 60.0) -> None:
    """Stop the active session and, where this process launched Spark's JVM (local mode), wait for it to exit.

    pyspark leaves its JVM running until the Python process ends (the JVM then sees its stdin close and exits,
    orphaned): nobody reaps it, so its CPU time never reaches the parent's `getrusage(RUSAGE_CHILDREN)`. Reaped
    here, a Pipes subprocess's cost as its launcher measures it includes its JVM, and the JVM ends cleanly. On EMR
    (spark-submit starts the JVM, which starts Python) there is no JVM of ours to wait for: nothing to do."""
    if "pyspark" not in sys.modules:
        return  # no Spark was started (the local engine, or a refusal before the session)
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()
    proc = getattr(gateway, "proc", None)
    if gateway is None or proc is None:
        return
    gateway.shutdown()
    if proc.stdin is not None:
        proc.stdin.close()  # the JVM's gateway server exits at its stdin's EOF
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    SparkContext._gateway = None
    SparkContext._jvm = None
