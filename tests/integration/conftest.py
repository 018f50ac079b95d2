"""Fixtures shared by integration tests (imported here so test modules just name them)."""

from tests.integration.marts_fixtures import built_marts  # noqa: F401
from tests.integration.s3_fixtures import moto_s3  # noqa: F401
