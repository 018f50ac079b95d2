"""The Coin Metrics API v4 wire format, as pydantic models (what `/timeseries/asset-metrics` answers).

A page: `{"data": [{"asset": "btc", "time": "2020-01-01T00:00:00.000000000Z", "PriceUSD": "7200.17", ...}],
"next_page_token": "...", "next_page_url": "..."}`; values are strings, a metric missing for a row is absent (not
published for that asset) or null (no value that day). An error: `{"error": {"type": "bad_parameter", "message":
"..."}}` (400 bad_parameter, 401 unauthorized, 403 forbidden ...).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = "unknown"
    message: str = ""


class ErrorResponse(BaseModel):
    model_config = ConfigDict(extra="allow")

    error: ErrorDetail


class AssetMetricsPage(BaseModel):
    """One page of `/timeseries/asset-metrics`. Rows are validated one by one by the parser (bad rows quarantine)."""

    model_config = ConfigDict(extra="allow")

    data: list[Any]
    next_page_token: str | None = None
    next_page_url: str | None = None
