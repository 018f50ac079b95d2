"""`nexus feeds reproduce`: a past delivery rebuilt from the lake as stored when it was made, byte for byte."""

from __future__ import annotations

import io
import json
import time
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from resources.feeds.clients import Client
from resources.feeds.datasets import FeedDataset, register
from resources.feeds.delivery import build_delivery, deliver, read_manifest
from resources.feeds.reproduce import reproduce_delivery
from resources.lake.delta import replace_where
from resources.lake.storage import LakeStorage
from tests.fixtures.feed_tables import price_table_spec

DAY = date(2024, 3, 15)  # a Friday: a daily client's period is that day
SPEC = price_table_spec("reproduce_feed")
register(FeedDataset(name="reproduce_prices", path=("reproduce_feed", "prices"), date_column="trade_date"))
CLIENT = Client.model_validate(
    {"client_id": "audit-fund", "name": "a", "datasets": ["reproduce_prices"], "instruments": ["BTC", "SPX"]}
)


def _publish(storage: LakeStorage, rows: list[tuple[str, date, float]]) -> None:
    table = pa.Table.from_pylist([{"symbol": s, "trade_date": d, "close": c} for s, d, c in rows], schema=SPEC.schema)
    replace_where(storage, SPEC, table)
    time.sleep(0.05)  # Delta commit times are in milliseconds: keep the instants apart


@pytest.fixture
def delivered(tmp_path: Path) -> tuple[LakeStorage, LakeStorage]:
    """v1 delivered, then later data arrived: the day's BTC close restated, a new day, and v2 delivered."""
    lake, feeds = LakeStorage(root_uri=str(tmp_path / "lake")), LakeStorage(root_uri=str(tmp_path / "feeds"))
    (tmp_path / "feeds").mkdir()
    _publish(lake, [("SPX", DAY, 5000.0), ("BTC", DAY, 70000.0), ("ETH", DAY, 3500.0)])
    assert deliver(lake, feeds, CLIENT, DAY, run_id="v1").version == 1
    time.sleep(0.05)
    _publish(
        lake,
        [("SPX", DAY, 5000.0), ("BTC", DAY, 70250.5), ("SPX", DAY + timedelta(days=3), 5010.0)],
    )
    assert deliver(lake, feeds, CLIENT, DAY, run_id="v2").version == 2
    return lake, feeds


def test_a_delivery_made_before_later_data_arrived_is_reproduced_byte_for_byte(delivered, tmp_path):
    lake, feeds = delivered
    result, blobs = reproduce_delivery(lake, feeds, CLIENT.client_id, DAY, version=1)
    assert result.identical and result.version == 1 and len(result.files) == 2  # the data file and its schema
    v1 = Path(read_manifest(feeds, result.manifest_uri).files[0].path)
    delivered_bytes = (Path(result.manifest_uri).parent / v1).read_bytes()
    assert blobs[str(v1)] == delivered_bytes
    assert pq.read_table(io.BytesIO(delivered_bytes)).column("close").to_pylist() == [70000.0, 5000.0]
    # the lake as it is now gives other bytes for that day: only the stored-at read reproduces v1
    now, _, _ = build_delivery(lake, CLIENT, DAY, DAY)
    assert now[str(v1)] != delivered_bytes
    latest, _ = reproduce_delivery(lake, feeds, CLIENT.client_id, DAY)
    assert latest.identical and latest.version == 2


def test_the_cli_reproduces_a_delivery_and_fails_when_it_differs(delivered, tmp_path, monkeypatch):
    lake, feeds = delivered
    monkeypatch.setenv("NEXUS_LAKE_URI", lake.root_uri)
    monkeypatch.setenv("NEXUS_FEEDS_URI", feeds.root_uri)
    out = tmp_path / "rebuilt"
    ok = CliRunner().invoke(
        app, ["feeds", "reproduce", CLIENT.client_id, DAY.isoformat(), "--version", "1", "--out", str(out)]
    )
    assert ok.exit_code == 0, ok.output
    assert "reproduced byte for byte: 2 files" in ok.output and "✔ identical" in ok.output
    manifest = Path(reproduce_delivery(lake, feeds, CLIENT.client_id, DAY, version=1)[0].manifest_uri)
    name = "reproduce_prices.parquet"
    assert (out / name).read_bytes() == (manifest.parent / name).read_bytes()
    # a manifest whose checksum does not match what the lake held then: reported, exit 1
    doc = json.loads(manifest.read_text())
    doc["files"][0]["sha256"] = "0" * 64
    manifest.write_text(json.dumps(doc))
    bad = CliRunner().invoke(app, ["feeds", "reproduce", CLIENT.client_id, DAY.isoformat(), "--version", "1"])
    assert bad.exit_code == 1 and "✗ differs" in bad.output, bad.output
    missing = CliRunner().invoke(app, ["feeds", "reproduce", CLIENT.client_id, "2024-03-18"])
    assert missing.exit_code == 2 and "no delivery as of 2024-03-18" in missing.output, missing.output
