"""Coin Metrics community network data: daily as-of snapshots of the asset-metrics API (or community CSVs)."""

from assets.ingest.factory import BronzeAsset, SilverAsset, SourceIngest, build_ingest_assets
from resources.sources.coinmetrics.ingest import ingest
from resources.sources.coinmetrics.spec import ASSET_METRICS, QUALITY, SOURCE

COINMETRICS = SourceIngest(
    source=SOURCE,
    cadence="daily",
    bronze=[
        BronzeAsset(
            "asset_metrics",
            "Coin Metrics API v4 `/timeseries/asset-metrics` pages (JSON) or community `<asset>.csv` files, "
            "byte for byte.",
        )
    ],
    silver=[SilverAsset(ASSET_METRICS, QUALITY)],
    run=ingest,
    description=(
        "Fetch the universe's Coin Metrics assets and metrics as published at the end of the partition (day D is "
        "public from D+1 06:00 UTC) and merge them into silver; restatements become new versions."
    ),
)

coinmetrics_ingest, coinmetrics_checks = build_ingest_assets(COINMETRICS)
