"""The whole graph on S3: `nexus run` with NEXUS_LAKE_URI=s3://... against moto's S3 server on 127.0.0.1.

Production keeps the lake and the client feeds in S3. Every stage runs there: ingest, marts and gold, the
analysts' DuckDB file, models with their model store and fit cache, signals, personas and the PDF report, feeds.
Afterwards every table in the lake reads back in full, and every delivery verifies. The run starts when the
session does (tests/e2e/early_runs.py: its own moto_server process, niced), this test checks what it left.
"""

from __future__ import annotations

import os

import duckdb
import pytest

from resources.lake.catalog import list_tables
from resources.lake.delta import read_table
from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from tests.e2e.early_runs import RANGE

pytestmark = [pytest.mark.slow, pytest.mark.s3]
END = RANGE[-1]  # 2019-07-01 to 2024-06-28: the shortest range the walk-forward models accept (3 years + OOS)


def test_nexus_run_builds_every_stage_on_s3(s3_run, monkeypatch):
    env, moto_s3 = s3_run.env, s3_run.env["AWS_ENDPOINT_URL"]
    assert env["NEXUS_LAKE_URI"] == "s3://nexus-lake/lake" and moto_s3.startswith("http://127.0.0.1:")
    result = s3_run
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "built the graph" in result.stdout and "too short" not in result.stdout
    for stage in ("daily_ingest_job", "marts_job", "models_job", "signals_job", "personas_job", "feeds_job"):
        assert f"● {stage}" in result.stdout
    assert not any(s3_run.root.glob("lake*")), "a stage wrote the lake to a local folder"

    for name, value in env.items():  # this process reads the bucket as the run's shell did
        if name.startswith(("NEXUS_", "AWS_")):
            monkeypatch.setenv(name, value)
    settings = get_settings()
    storage = LakeStorage.from_settings(settings)
    assert storage.is_s3

    # every table reads back in full
    tables = list_tables(storage)
    names = {f"{t.zone}/{t.name}" for t in tables}
    for table in tables:
        assert read_table(storage, table.uri).num_rows == table.rows, table.name
        if table.zone in ("silver", "gold") and not table.name.startswith(("models/_", "feeds/")):
            assert table.rows > 0, f"{table.zone}/{table.name} is empty"
    assert {"silver/cboe/index_closes", "gold/marts/fct_features_daily", "gold/signals/daily"} <= names
    assert {"gold/models/oos_predictions", "gold/models/evaluation", "gold/feeds/delivery_log"} <= names

    # models: a model store per horizon and the fit cache, both in the bucket
    fs = storage.filesystem
    from pyarrow import fs as pafs

    def objects(*parts: str) -> list[str]:
        selector = pafs.FileSelector(storage.fs_path(storage.uri("gold", *parts)), recursive=True)
        return [f.path for f in fs.get_file_info(selector) if f.type == pafs.FileType.File]

    assert objects("models", "_cache"), "no fit cache in S3"
    assert objects("models", "lgbm_direction_h1_pooled"), "no model store in S3"

    signals = read_table(storage, storage.uri("gold", "signals", "daily")).to_pandas()
    assert len(signals[signals["signal_date"].astype(str) == END]) == 12 * 6

    # personas and the PDF report
    for persona in ("hedging_desk", "institutional", "wealth_manager", "hedge_fund", "retail_trader"):
        assert storage.exists(storage.uri("gold", "personas", "_documents", f"date={END}", f"{persona}.json"))
    pdf = storage.read_bytes(storage.uri("gold", "reports", "market_intelligence", f"{END}.pdf"))
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000

    # feeds: one verified delivery per client in the feeds bucket
    from assets.feeds.runner import feeds_storage
    from resources.feeds.clients import get_clients
    from resources.feeds.delivery import verify_delivery
    from resources.feeds.log import DELIVERY_LOG

    log = read_table(storage, DELIVERY_LOG).to_pylist()
    assert sorted(r["client_id"] for r in log) == sorted(
        c.client_id for c in get_clients(settings.clients_file).clients
    )
    feeds = feeds_storage(settings)
    for entry in log:
        assert entry["manifest_uri"].startswith("s3://nexus-feeds/feeds/")
        assert verify_delivery(feeds, entry["manifest_uri"]) == []

    # the analysts' DuckDB file, published from the S3 lake
    with duckdb.connect(env["NEXUS_PUBLISHED_DUCKDB_PATH"], read_only=True) as analyst:
        assert analyst.execute("select count(*) from marts.fct_prices_daily").fetchone()[0] > 1000
    assert os.environ["AWS_ENDPOINT_URL"] == moto_s3
