"""Where each publisher is reached in the current mode.

live: the publishers' real base URLs from settings. simulated: one local simulated publisher on 127.0.0.1
standing at the end of `as_of`, reached through the same clients. files: no endpoints; clients read files.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from resources.settings import Settings, SourceMode


@dataclass(frozen=True)
class Endpoints:
    mode: SourceMode
    cboe: str
    cftc: str
    fred: str
    eia: str
    coinmetrics: str
    as_of: datetime | None = None  # publisher state the payloads reflect (simulated mode)


def live_endpoints(settings: Settings) -> Endpoints:
    return Endpoints(
        mode="live",
        cboe=settings.cboe_base_url.rstrip("/"),
        cftc=settings.cftc_base_url.rstrip("/"),
        fred=settings.fred_base_url.rstrip("/"),
        eia=settings.eia_base_url.rstrip("/"),
        coinmetrics=settings.coinmetrics_base_url.rstrip("/"),
    )


def local_endpoints(base_url: str, *, mode: SourceMode, as_of: datetime | None = None) -> Endpoints:
    """Every publisher on one local server (the simulated publisher, or a test server)."""
    return Endpoints(
        mode=mode,
        cboe=base_url,
        cftc=base_url,
        fred=f"{base_url}/fred",
        eia=f"{base_url}/v2",
        coinmetrics=f"{base_url}/v4",
        as_of=as_of,
    )


@contextmanager
def open_endpoints(settings: Settings, as_of: date) -> Iterator[Endpoints]:
    """Endpoints for the configured mode; in simulated mode the local publisher runs for the block."""
    if settings.source_mode == "simulated":
        from resources.simulated.publisher import SimulatedPublisher
        from resources.simulated.server import serve_publisher
        from resources.simulated.world_cache import load_world

        load_world(settings)  # from the disk cache when a process before built it (~1.6 CPU s saved)
        publisher = SimulatedPublisher(
            seed=settings.seed,
            as_of=as_of,
            decision_time_utc=settings.decision_time_utc,
            misprints_file=settings.publisher_misprints_file,
        )
        with serve_publisher(publisher) as url:
            yield local_endpoints(url, mode="simulated", as_of=publisher.as_of_time)
    else:
        yield live_endpoints(settings)
