"""CFTC Commitments of Traders: weekly as-of snapshots of the Legacy, TFF and Disaggregated reports."""

from assets.ingest.factory import BronzeAsset, SilverAsset, SourceIngest, build_ingest_assets
from resources.sources.cot.ingest import ingest
from resources.sources.cot.layouts import LAYOUTS, REPORTS
from resources.sources.cot.spec import QUALITY, SOURCE, TABLES

COT = SourceIngest(
    source=SOURCE,
    cadence="weekly",
    bronze=[
        BronzeAsset(
            f"{report}_reports",
            f"CFTC {LAYOUTS[report].title} payloads (Socrata pages, annual text files or zips), byte for byte.",
            frozenset({LAYOUTS[report].dataset(True), LAYOUTS[report].dataset(False)}),
        )
        for report in REPORTS
    ],
    silver=[SilverAsset(TABLES[report], QUALITY[report]) for report in REPORTS],
    run=ingest,
    description=(
        "Fetch the COT reports CFTC had published by the end of the partition (released Friday 15:30 ET, later "
        "after federal holidays) and merge each report into its silver table; revisions become new versions."
    ),
)

cot_ingest, cot_checks = build_ingest_assets(COT)
