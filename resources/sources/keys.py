"""Which live API keys a run needs, checked once before anything is fetched.

FRED and EIA refuse requests without a key; Coin Metrics' community API, Cboe's files and CFTC's Socrata API
(whose app token only raises the rate limit) need none. A missing key is one clear `ConfigError` line, not a
traceback half-way through a run.
"""

from __future__ import annotations

from collections.abc import Iterable

from resources.errors import ConfigError
from resources.settings import Settings

# source -> (settings field, environment variable, where to get one)
REQUIRED_KEYS: dict[str, tuple[str, str, str]] = {
    "fred": ("fred_api_key", "FRED_API_KEY", "https://fred.stlouisfed.org/docs/api/api_key.html"),
    "eia": ("eia_api_key", "EIA_API_KEY", "https://www.eia.gov/opendata/register.php"),
}


def missing_live_keys(settings: Settings, sources: Iterable[str]) -> list[str]:
    """The environment variables still to set for `sources` in the configured mode (none outside live mode)."""
    if settings.source_mode != "live":
        return []
    return [
        env
        for source in sources
        if source in REQUIRED_KEYS
        for field, env, _ in [REQUIRED_KEYS[source]]
        if getattr(settings, field) is None or not getattr(settings, field).get_secret_value()
    ]


def require_live_keys(settings: Settings, sources: Iterable[str]) -> None:
    """Raise one `ConfigError` naming every missing key and where to get it."""
    wanted = list(sources)
    missing = missing_live_keys(settings, wanted)
    if missing:
        where = {env: url for _, env, url in REQUIRED_KEYS.values()}
        needs = "; ".join(f"set {env} ({where[env]})" for env in missing)
        raise ConfigError(f"live mode needs an API key: {needs}")
