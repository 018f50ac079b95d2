"""moto's S3 server on 127.0.0.1 for tests (a real S3 HTTP API), with the standard AWS variables set."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from tests.conftest import free_port


@pytest.fixture
def moto_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Start moto's server, point the AWS_* variables at it, create buckets `nexus-lake` and `nexus-feeds`."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret-value")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    for bucket in ("nexus-lake", "nexus-feeds"):
        client.create_bucket(Bucket=bucket)
    yield endpoint
    server.stop()
