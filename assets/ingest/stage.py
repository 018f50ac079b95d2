"""The ingest stage's contribution to the code location, listed explicitly: a new source adds its lines here.

One multi-asset per source declaration (bronze and silver tables of one cadence), its Great Expectations checks
and the silver freshness checks.
"""

from dagster import AssetChecksDefinition, AssetsDefinition

from assets.ingest.cboe import cboe_checks, cboe_ingest
from assets.ingest.coinmetrics import coinmetrics_checks, coinmetrics_ingest
from assets.ingest.cot import cot_checks, cot_ingest
from assets.ingest.eia import eia_daily_checks, eia_daily_ingest, eia_weekly_checks, eia_weekly_ingest
from assets.ingest.fred import fred_checks, fred_ingest
from assets.ingest.freshness import FRESHNESS_CHECKS

INGEST_ASSETS: list[AssetsDefinition] = [
    cboe_ingest,
    coinmetrics_ingest,
    cot_ingest,
    eia_weekly_ingest,
    eia_daily_ingest,
    fred_ingest,
]
INGEST_CHECKS: list[AssetChecksDefinition] = [
    *cboe_checks,
    *coinmetrics_checks,
    *cot_checks,
    *eia_weekly_checks,
    *eia_daily_checks,
    *FRESHNESS_CHECKS,
    *fred_checks,
]
