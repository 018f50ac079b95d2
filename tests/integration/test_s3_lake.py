"""The same Cboe path against a real S3 API: moto's server on 127.0.0.1."""

from datetime import date

import boto3
import pytest

from resources.lake.bronze import MANIFEST, read_payload
from resources.lake.catalog import list_tables
from resources.lake.delta import content_hash, read_table
from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from resources.sources.cboe.ingest import ingest_cboe
from resources.sources.cboe.spec import INDEX_CLOSES

pytestmark = pytest.mark.s3


@pytest.fixture
def s3_lake(moto_s3, monkeypatch):
    monkeypatch.setenv("NEXUS_LAKE_URI", "s3://nexus-lake/prod")
    return moto_s3


def test_cboe_path_on_s3(s3_lake):
    settings = get_settings()
    storage = LakeStorage.from_settings(settings)
    assert storage.is_s3
    report = ingest_cboe(storage, settings, run_id="s3", start=date(2023, 1, 1), end=date(2023, 12, 29))
    assert report.added > 900 and not report.failed
    table = read_table(storage, INDEX_CLOSES)
    assert table.num_rows == report.added
    # idempotent on S3 too
    before = content_hash(table)
    ingest_cboe(storage, settings, run_id="s3-again", start=date(2023, 1, 1), end=date(2023, 12, 29))
    assert content_hash(read_table(storage, INDEX_CLOSES)) == before
    # raw bytes readable back from the bucket
    manifest = read_table(storage, MANIFEST).to_pandas()
    assert all(uri.startswith("bronze/cboe/") for uri in manifest.object_uri)  # relative to the lake root
    assert read_payload(storage, manifest.sha256.iloc[0]).startswith(b"DATE,")
    keys = [
        o["Key"]
        for o in boto3.client("s3", endpoint_url=s3_lake, region_name="us-east-1").list_objects_v2(
            Bucket="nexus-lake", Prefix="prod/silver/cboe/index_closes/_delta_log/"
        )["Contents"]
    ]
    assert any(k.endswith(".json") for k in keys)
    names = {(t.zone, t.name) for t in list_tables(storage)}
    assert ("silver", "cboe/index_closes") in names and ("bronze", "_manifest") in names
