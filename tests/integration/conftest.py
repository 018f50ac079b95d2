"""Fixtures shared by integration tests (imported here so test modules just name them)."""

from tests.integration.s3_fixtures import moto_s3  # noqa: F401
