"""EIA: weekly reports (WPSR, WNGSR) on weekly as-of partitions, spot and futures prices on daily ones.

Both declarations share the client and parser in resources/sources/eia; each has its own multi-asset name.
"""

from assets.ingest.factory import BronzeAsset, SilverAsset, SourceIngest, build_ingest_assets
from resources.sources.eia.ingest import ingest_daily_prices, ingest_weekly_reports
from resources.sources.eia.spec import (
    DAILY_PRICES,
    DAILY_QUALITY,
    ROUTES,
    SERIES,
    SOURCE,
    WEEKLY_QUALITY,
    WEEKLY_SERIES,
)


def _datasets(cadence: str) -> frozenset[str]:
    """Bronze datasets of one cadence: its API routes' pages and its series' download CSVs."""
    routes = {r.dataset for r in ROUTES if r.frequency == cadence}
    return frozenset(routes | {s.id for s in SERIES.values() if s.cadence == cadence})


EIA_WEEKLY = SourceIngest(
    source=SOURCE,
    name="eia_weekly_ingest",
    cadence="weekly",
    bronze=[
        BronzeAsset(
            "weekly_reports",
            "EIA API v2 pages of petroleum/sum/sndw and natural-gas/stor/wkly (or weekly download CSVs), byte for "
            "byte, with EIA's echo of the API key masked.",
            _datasets("weekly"),
        )
    ],
    silver=[SilverAsset(WEEKLY_SERIES, WEEKLY_QUALITY)],
    run=ingest_weekly_reports,
    description=(
        "Fetch EIA's weekly petroleum supply and gas storage series as published by the end of the partition's "
        "Friday and merge them into silver (revisions become new versions)."
    ),
)

EIA_DAILY = SourceIngest(
    source=SOURCE,
    name="eia_daily_ingest",
    cadence="daily",
    bronze=[
        BronzeAsset(
            "price_pages",
            "EIA API v2 pages of petroleum/pri/spt, petroleum/pri/fut and natural-gas/pri/fut (or daily download "
            "CSVs), byte for byte, with EIA's echo of the API key masked.",
            _datasets("daily"),
        )
    ],
    silver=[SilverAsset(DAILY_PRICES, DAILY_QUALITY)],
    run=ingest_daily_prices,
    description=(
        "Fetch EIA's daily spot (WTI, Brent, Henry Hub) and NYMEX futures 1-4 prices as published by the end of the "
        "partition and merge them into silver."
    ),
)

eia_weekly_ingest, eia_weekly_checks = build_ingest_assets(EIA_WEEKLY)
eia_daily_ingest, eia_daily_checks = build_ingest_assets(EIA_DAILY)
