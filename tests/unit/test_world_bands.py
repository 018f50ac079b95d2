"""The simulated world looks like the market on every seed: each published series stays, over 2016-2025, inside a
band around its real history, and the whole world passes the silver gates that would stop `nexus run`.

Before the fix most seeds compounded the regime drift and the planted effects freely (SPX up to 128,000, NDX up to
1.5 million), and seeds 13, 19, 23, 29 and 31 could not be built (FRED's NASDAQ100 gate)."""

from __future__ import annotations

import pandas as pd
import pytest

from resources.simulated.world import HORIZON, build_world
from resources.sources.cboe.spec import QUALITY as CBOE_QUALITY
from resources.sources.eia.spec import SERIES as EIA_SERIES
from resources.sources.fred.spec import POSITIVE_RANGES, YIELD_SERIES

# Seeds the project uses (7 default, 11 and 17 benchmarks) and the ones that could not be built, plus a spread.
SEEDS = (7, 11, 13, 17, 19, 23, 29, 31, 3, 42, 101, 2024)

# (low, high) over 2016-2025, the band of each series' real history (2000-2025 for rates and currencies, whose
# 2016-2025 range alone is narrow); crypto may swing widely, but not by orders of magnitude beyond its history.
BANDS: dict[str, tuple[float, float]] = {
    "SPX": (1_500.0, 8_000.0),
    "NDX": (3_000.0, 30_000.0),
    "VIX": (9.0, 85.0),
    "RWTC": (10.0, 150.0),
    "RBRTE": (10.0, 160.0),
    "RNGWHHD": (0.5, 25.0),
    "DGS10": (0.3, 9.0),
    "DGS2": (0.0, 9.0),
    "DGS3MO": (0.0, 8.5),
    "DEXUSEU": (0.75, 1.75),
    "DEXJPUS": (70.0, 180.0),
    "DTWEXBGS": (75.0, 150.0),
    "BTC_PriceUSD": (50.0, 1_000_000.0),
    "ETH_PriceUSD": (0.5, 100_000.0),
}
FRED_COLUMNS = {"SP500": "SPX", "NASDAQ100": "NDX", "DEXUSEU": "DEXUSEU", "DEXJPUS": "DEXJPUS", "DTWEXBGS": "DTWEXBGS"}


def _series(seed: int) -> pd.DataFrame:
    world = build_world(seed)
    crypto = world.crypto[["BTC_PriceUSD", "ETH_PriceUSD"]].reindex(world.daily.index)
    return pd.concat([world.daily, crypto], axis=1)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_series_stays_in_the_band_of_its_real_history_and_passes_the_gates(seed):
    """Bands over 2016-2025; the silver gates of FRED, EIA and Cboe over every date a run can ask for."""
    series = _series(seed)
    window = series.loc["2016-01-01":"2025-12-31"]
    outside = {
        name: (round(float(window[name].min()), 3), round(float(window[name].max()), 3))
        for name, (low, high) in BANDS.items()
        if not (low <= window[name].min() and window[name].max() <= high)
    }
    assert not outside, f"seed {seed}: outside the band (min, max): {outside}"
    daily = series.loc[: pd.Timestamp(HORIZON)]
    ranges = {s: POSITIVE_RANGES[s] for s in FRED_COLUMNS} | {s: (-5.0, 25.0) for s in YIELD_SERIES if s in daily}
    ranges |= {s.id: (s.min_value, s.max_value) for s in EIA_SERIES.values() if s.id in daily}
    ranges |= {r.where["index_symbol"]: (r.min_value, r.max_value) for r in CBOE_QUALITY.ranges}
    failing = {}
    for name, (low, high) in ranges.items():
        values = daily[FRED_COLUMNS.get(name, name)]
        if not (low <= values.min() and values.max() <= high):
            failing[name] = (float(values.min()), float(values.max()), low, high)
    assert len(ranges) >= 5 + 3 + 4 and not failing, f"seed {seed}: fails the silver gates: {failing}"


def test_vix_mean_reverts_and_spikes_are_rare():
    """VIX is a mean-reverting index, not a level that drifts: its median is near the long-run 17-20, it stays in the
    band of 9-85 (tested above), and stays above 50 on under 5% of days (real: 0.6% since 1990; the world's CRISIS
    regime alone takes 1-4% of days)."""
    for seed in SEEDS[-4:]:  # the four worlds the test above left in the cache
        vix = build_world(seed).daily["VIX"]
        assert 13 < vix.median() < 22 and (vix > 50).mean() < 0.05
        yearly = vix.resample("YE").median()
        assert yearly.max() < 40, yearly.max()
