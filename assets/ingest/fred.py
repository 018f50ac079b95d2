"""FRED with vintages: daily as-of snapshots of every vintage of the universe's FRED series, plus their metadata."""

from assets.ingest.factory import BronzeAsset, SilverAsset, SourceIngest, build_ingest_assets
from resources.sources.fred.ingest import ingest
from resources.sources.fred.spec import OBSERVATIONS, OBSERVATIONS_QUALITY, SERIES, SERIES_QUALITY, SOURCE

FRED = SourceIngest(
    source=SOURCE,
    cadence="daily",
    bronze=[
        BronzeAsset(
            "api_responses",
            "FRED API answers (series/observations pages with all vintages, series metadata) or CSV downloads, "
            "byte for byte.",
        )
    ],
    silver=[SilverAsset(OBSERVATIONS, OBSERVATIONS_QUALITY), SilverAsset(SERIES, SERIES_QUALITY)],
    run=ingest,
    description=(
        "Fetch every vintage (ALFRED realtime_start) of the universe's FRED series as known at the end of the "
        "partition, and their metadata, and merge them into silver; a revision adds a vintage row."
    ),
)

fred_ingest, fred_checks = build_ingest_assets(FRED)
