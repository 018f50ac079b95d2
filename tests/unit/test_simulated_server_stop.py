"""Each ingest step serves the simulated publisher for its block and stops it after: the stop is prompt (the
serving loop checks for it every SHUTDOWN_POLL_S, not Python's default 0.5 s, which cost ~0.3 s per step)."""

from __future__ import annotations

import time

import httpx

from resources.simulated.server import serve_publisher


class _Hello:
    def handle(self, request: object) -> object:
        from resources.simulated.publisher import Response

        return Response(200, b"hello")


def test_the_publisher_answers_and_stops_promptly():
    stops = []
    for _ in range(5):
        with serve_publisher(_Hello()) as url:  # type: ignore[arg-type]
            assert httpx.get(f"{url}/anything").content == b"hello"
            leaving = time.perf_counter()
        stops.append(time.perf_counter() - leaving)
    # five stops at the default poll interval take ~1.25 s on average; at 0.02 s, well under a tenth of that
    assert sum(stops) < 0.6, stops
