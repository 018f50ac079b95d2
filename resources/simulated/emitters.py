"""Imports every simulated source so its routes register with the publisher. Add new sources here."""

from resources.simulated import cboe  # noqa: F401
