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
from resources.settings import get_settings
from resources.settings_resource import SettingsResource
from tests.fixtures.feed_tables import price_table_spec

pytestmark = pytest.mark.s3
DAY = date(2024, 3, 15)
SPEC = price_table_spec("s3_feed")
register(FeedDataset(name="s3_prices", path=("s3_feed", "prices"), date_column="trade_date"))


def test_s3_delivery_with_presigned_urls(moto_s3, monkeypatch):
    monkeypatch.setenv("NEXUS_LAKE_URI", "s3://nexus-lake/prod")
    monkeypatch.setenv("NEXUS_FEEDS_URI", "s3://nexus-feeds/deliveries")
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


def test_a_scheduled_run_hands_links_to_a_links_client_through_its_links_file(moto_s3, monkeypatch, tmp_path):
    """The nightly `delivery_log` run: the links client finds fresh URLs in its own folder; the run's
    metadata, logs and the lake's delivery log hold none."""
    from dagster import DagsterInstance, materialize

    from assets.feeds.assets import delivery_log
    from resources.feeds.manifest import DeliveryLinks
    from resources.lake.resource import LakeResource

    (tmp_path / "clients.yaml").write_text(
        "clients:\n"
        "  - {client_id: links-client, name: L, datasets: [s3_prices], instruments: [WTI], format: csv,\n"
        "     target: {presign: true}}\n"
        "  - {client_id: files-client, name: F, datasets: [s3_prices], instruments: [SPX]}\n"
    )
    monkeypatch.setenv("NEXUS_CLIENTS_FILE", str(tmp_path / "clients.yaml"))
    monkeypatch.setenv("NEXUS_LAKE_URI", "s3://nexus-lake/prod")
    monkeypatch.setenv("NEXUS_FEEDS_URI", "s3://nexus-feeds/deliveries")
    monkeypatch.setenv("NEXUS_FEEDS_PRESIGN_EXPIRY_S", "7200")
    settings = get_settings()
    lake = LakeStorage.from_settings(settings)
    feeds = LakeStorage(root_uri=settings.feeds_uri, storage_options=settings.aws_storage_options())
    rows = [{"symbol": s, "trade_date": DAY, "close": c} for s, c in (("SPX", 5000.0), ("WTI", 80.5))]
    replace_where(lake, SPEC, pa.Table.from_pylist(rows, schema=SPEC.schema))

    instance = DagsterInstance.ephemeral()
    result = materialize(
        [delivery_log],
        partition_key=str(DAY),
        resources={"lake": LakeResource.from_settings(settings), "settings": SettingsResource.from_settings(settings)},
        instance=instance,
    )
    assert result.success
    links_uri = "s3://nexus-feeds/deliveries/links-client/date=2024-03-15/links.json"
    links = DeliveryLinks.model_validate_json(feeds.read_bytes(links_uri))
    assert links.version == 1 and links.expires_in_s == 7200
    assert set(links.files) == {"s3_prices.csv", "schemas/s3_prices.schema.json"}
    manifest = httpx.get(links.manifest, timeout=10)
    assert manifest.status_code == 200 and b'"client_id": "links-client"' in manifest.content
    data = httpx.get(links.files["s3_prices.csv"], timeout=10)
    assert data.status_code == 200 and b"WTI" in data.content and b"SPX" not in data.content
    assert not feeds.exists("s3://nexus-feeds/deliveries/files-client/date=2024-03-15/links.json")

    stored = [str(e) for e in instance.all_logs(result.run_id)]
    stored += [str(read_table(lake, DELIVERY_LOG).to_pylist())]
    assert not [s for s in stored if "X-Amz-Signature" in s or "testing-secret" in s]
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["links_files"].value == 1 and metadata["failed"].value == 0
