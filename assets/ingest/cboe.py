"""Cboe volatility indices: daily as-of snapshots of the index history files."""

from assets.ingest.factory import BronzeAsset, SilverAsset, SourceIngest, build_ingest_assets
from resources.sources.cboe.ingest import ingest
from resources.sources.cboe.spec import INDEX_CLOSES, QUALITY, SOURCE

CBOE = SourceIngest(
    source=SOURCE,
    cadence="daily",
    bronze=[BronzeAsset("index_history", "Cboe `<INDEX>_History.csv` payloads, byte for byte.")],
    silver=[SilverAsset(INDEX_CLOSES, QUALITY)],
    run=ingest,
    description="Fetch every Cboe index file as published at the end of the partition and merge it into silver.",
)

cboe_ingest, cboe_checks = build_ingest_assets(CBOE)
