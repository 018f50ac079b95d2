"""Fixtures of the end-to-end tests: the real browser and the folder its screenshots are kept in."""

from tests.e2e.browser import artifacts, chromium

__all__ = ["artifacts", "chromium"]
