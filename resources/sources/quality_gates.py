"""Which Great Expectations suite gates which silver table (write-audit-publish at landing time).

The suites are declared beside each source's table spec; this map is built on first use (not at import time,
and so without an import cycle between the sources and the landing pipeline in `base`).
"""

from __future__ import annotations

from functools import cache

from resources.quality.suites import SilverSuite


@cache
def _suites() -> dict[str, SilverSuite]:
    from resources.sources.cboe.spec import INDEX_CLOSES
    from resources.sources.cboe.spec import QUALITY as CBOE_QUALITY
    from resources.sources.coinmetrics.spec import ASSET_METRICS
    from resources.sources.coinmetrics.spec import QUALITY as COINMETRICS_QUALITY
    from resources.sources.cot.spec import QUALITY as COT_QUALITY
    from resources.sources.cot.spec import TABLES as COT_TABLES
    from resources.sources.eia.spec import DAILY_PRICES, DAILY_QUALITY, WEEKLY_QUALITY, WEEKLY_SERIES
    from resources.sources.fred.spec import OBSERVATIONS, OBSERVATIONS_QUALITY, SERIES, SERIES_QUALITY

    pairs = [
        (INDEX_CLOSES, CBOE_QUALITY),
        (ASSET_METRICS, COINMETRICS_QUALITY),
        (WEEKLY_SERIES, WEEKLY_QUALITY),
        (DAILY_PRICES, DAILY_QUALITY),
        (OBSERVATIONS, OBSERVATIONS_QUALITY),
        (SERIES, SERIES_QUALITY),
        *((COT_TABLES[report], COT_QUALITY[report]) for report in COT_TABLES),
    ]
    return {spec.name: suite for spec, suite in pairs}


def suite_for(table_name: str) -> SilverSuite | None:
    """The blocking suite of a silver table (None for a table without one)."""
    return _suites().get(table_name)
