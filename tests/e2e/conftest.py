"""Fixtures of the end-to-end tests: the real browser, the folder its screenshots are kept in, moto's S3 server."""

from tests.e2e.browser import artifacts, chromium
from tests.integration.s3_fixtures import moto_s3

__all__ = ["artifacts", "chromium", "moto_s3"]
