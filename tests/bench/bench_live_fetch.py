"""Bronze bytes added per night in live mode: every night a full history (before) vs incremental fetch (after).

Live mode is run against the simulated publisher standing at each night's close (FRED with vintages and Coin
Metrics), nights 2..N averaged (night 1 is the first load in both). "Before" forces the full-refresh path on
every night (`live_full_refresh_days=0`), which is what live ingest did before incremental fetch.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import SecretStr

from resources.lake.bronze import MANIFEST
from resources.lake.delta import read_table
from resources.lake.storage import LakeStorage
from resources.settings import Settings
from resources.simulated.publisher import SimulatedPublisher
from resources.simulated.server import serve_publisher
from resources.sources.coinmetrics.ingest import ingest_coinmetrics
from resources.sources.endpoints import local_endpoints
from resources.sources.fred.ingest import ingest_fred
from resources.sources.fred.spec import SIMULATED_API_KEY
from tests.bench.common import Figure, scratch

START, FIRST_NIGHT, NIGHTS = date(2022, 1, 1), date(2024, 6, 3), 5
FRED_SERIES = ("DGS10", "DTWEXBGS", "SP500")


def _bronze_bytes(storage: LakeStorage) -> int:
    manifest = read_table(storage, MANIFEST, columns=["bytes"])
    return int(sum(manifest.column("bytes").to_pylist()))


def _nights(full_refresh_days: int) -> list[int]:
    """Bronze bytes added by each night."""
    root = scratch()
    added: list[int] = []
    for n in range(NIGHTS):
        night = FIRST_NIGHT + timedelta(days=n)
        with serve_publisher(SimulatedPublisher(7, night)) as url:
            settings = Settings(
                lake_uri=str(root / "lake"),
                source_mode="live",
                start_date=START,
                fred_base_url=f"{url}/fred",
                live_full_refresh_days=full_refresh_days,
                **{"FRED_API_KEY": SecretStr(SIMULATED_API_KEY)},
            )
            storage = LakeStorage.from_settings(settings)
            before = _bronze_bytes(storage)
            ingest_fred(storage, settings, run_id=f"n{n}", start=START, end=night, series=FRED_SERIES)
            ingest_coinmetrics(
                storage,
                settings,
                run_id=f"n{n}",
                start=START,
                end=night,
                endpoints=local_endpoints(url, mode="live"),
            )
            added.append(_bronze_bytes(storage) - before)
    return added


def run() -> list[Figure]:
    full, incremental = _nights(0), _nights(7)
    per_night = lambda xs: sum(xs[1:]) / (len(xs) - 1) / 1024  # noqa: E731
    return [
        Figure("live fetch: bronze KiB added per night, full history (before)", per_night(full), "KiB"),
        Figure("live fetch: bronze KiB added per night, incremental (after)", per_night(incremental), "KiB"),
        Figure("live fetch: first night (full load, both)", incremental[0] / 1024, "KiB"),
    ]
