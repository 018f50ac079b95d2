"""The simulated publisher: answers HTTP requests the way each real publisher does, for a given as-of date.

Each source registers its routes here (see `resources/simulated/<source>.py`); `server.py` serves them on
127.0.0.1 so that simulated mode exercises exactly the HTTP client, pagination and parser code of live mode.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

from resources.settings import DEFAULT_DECISION_TIME_UTC
from resources.simulated.world import World, world_for


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def not_found(cls, what: str) -> Response:
        return cls(404, f"Not found: {what}\n".encode())


Handler = Callable[["SimulatedPublisher", Request, re.Match[str]], Response]
_ROUTES: list[tuple[re.Pattern[str], Handler]] = []


def route(pattern: str) -> Callable[[Handler], Handler]:
    """Register a handler for paths matching `pattern` (a regex matched against the whole path)."""

    def register(handler: Handler) -> Handler:
        _ROUTES.append((re.compile(pattern), handler))
        return handler

    return register


@dataclass
class SimulatedPublisher:
    """All five publishers as they stood at the end of `as_of` (the decision time of that day).

    `decision_time_utc` and `misprints_file` come from the settings of whoever starts it (`open_endpoints`); the
    defaults are the settings' defaults, so tests can build one from a seed and a date.
    """

    seed: int
    as_of: date
    decision_time_utc: time = DEFAULT_DECISION_TIME_UTC
    misprints_file: Path | None = None

    @property
    def world(self) -> World:
        return world_for(self.seed)

    @property
    def as_of_time(self) -> datetime:
        return datetime.combine(self.as_of, self.decision_time_utc, tzinfo=UTC)

    def handle(self, request: Request) -> Response:
        _load_routes()
        for pattern, handler in _ROUTES:
            match = pattern.fullmatch(request.path)
            if match:
                return handler(self, request, match)
        return Response.not_found(request.path)


def _load_routes() -> None:
    """Import the per-source emitters so their routes are registered."""
    import resources.simulated.emitters  # noqa: F401
