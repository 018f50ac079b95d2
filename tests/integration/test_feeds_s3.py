"""Feeds on a real S3 API (moto on 127.0.0.1): files and manifest land, presigned URLs return the exact bytes."""

import posixpath
from datetime import date

import httpx
import pyarrow as pa
import pytest

from resources.feeds.clients import Client
from resources.feeds.datasets import FeedDataset, register
from resources.feeds.delivery import deliver, read_manifest, verify_delivery
from resources.feeds.log import DELIVERY_LOG
from resources.lake.delta import read_table, replace_where
from resources.lake.storage import LakeStorage
from resources.lake.tables import TableSpec
from resources.settings import get_settings

pytestmark = pytest.mark.s3
DAY = date(2024, 3, 15)
SPEC = TableSpec(
    zone="gold",
    name="s3_feed/prices",
    schema=pa.schema(
        [
            pa.field("symbol", pa.string(), nullable=False),
            pa.field("trade_date", pa.date32(), nullable=False),
            pa.field("close", pa.float64()),
        ]
    ),
    keys=("symbol", "trade_date"),
    date_column="trade_date",
)
register(FeedDataset(name="s3_prices", path=("s3_feed", "prices"), date_column="trade_date"))


def test_s3_delivery_with_presigned_urls(moto_s3, monkeypatch):
    monkeypatch.setenv("NEXUS_LAKE_URI", "s3://nexus-lake/prod")
    monkeypatch.setenv("NEXUS_FEEDS_URI", "s3://nexus-feeds/deliveries")
    get_settings.cache_clear()
    settings = get_settings()
    lake = LakeStorage.from_settings(settings)
    feeds = LakeStorage(root_uri=settings.feeds_uri, storage_options=settings.aws_storage_options())
    rows = [{"symbol": s, "trade_date": DAY, "close": c} for s, c in (("SPX", 5000.0), ("WTI", 80.5), ("BTC", 1.0))]
    replace_where(lake, SPEC, pa.Table.from_pylist(rows, schema=SPEC.schema))
    client = Client(
        client_id="summit-energy",
        name="Summit",
        datasets=["s3_prices"],
        instruments=["WTI"],
        format="jsonl",
        target={"presign": True, "presign_expiry_s": 600},
    )

    result = deliver(lake, feeds, client, DAY, run_id="s3-run")
    assert result.manifest_uri.startswith("s3://nexus-feeds/deliveries/summit-energy/date=2024-03-15/v1/")
    assert verify_delivery(feeds, result.manifest_uri) == []
    manifest = read_manifest(feeds, result.manifest_uri)
    folder = posixpath.dirname(result.manifest_uri)
    for name, url in result.presigned_urls.items():
        response = httpx.get(url, timeout=10)
        assert response.status_code == 200, name
        assert response.content == feeds.read_bytes(posixpath.join(folder, name))
    data = httpx.get(result.presigned_urls["s3_prices.jsonl"], timeout=10).content
    assert b'"WTI"' in data and b"SPX" not in data
    assert manifest.files[0].sha256 == __import__("hashlib").sha256(data).hexdigest()

    # no credential in the manifest or the delivery log, and re-delivery is a no-op on S3 too
    secret = "testing-secret-value"
    assert secret not in feeds.read_bytes(result.manifest_uri).decode()
    assert "X-Amz-Signature" not in feeds.read_bytes(result.manifest_uri).decode()
    log = read_table(lake, DELIVERY_LOG).to_pandas()
    assert not log.astype(str).apply(lambda col: col.str.contains("Signature|testing-secret")).any().any()
    again = deliver(lake, feeds, client, DAY, run_id="s3-again")
    assert again.status == "unchanged" and read_table(lake, DELIVERY_LOG).num_rows == 1
