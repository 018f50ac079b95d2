"""EIA API v2's JSON envelope, as documented and as observed: the parts the parser and the client rely on.

    {"response": {"warnings": [{"warning": ..., "description": ...}], "total": "1234", "dateFormat": "YYYY-MM-DD",
                  "frequency": "weekly", "data": [{"period": ..., "series": ..., "value": "418310", "units": ...}],
                  "description": ...},
     "request": {"command": "/v2/petroleum/sum/sndw/data/", "params": {...}}, "apiVersion": "2.1.8", ...}

`total` is the full row count of the query whatever `offset`/`length` asked (a string in current responses, a
number in older ones). Errors come in two shapes: `{"error": {"code": "API_KEY_MISSING", "message": ...}}` for
the key gate and `{"error": "<text>", "code": 400}` for bad parameters; before API 2.1.10 they could arrive with
HTTP 200, so the parser recognises them in the body too.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

REQUIRED_ROW_FIELDS = ("period", "series", "value", "units")


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ApiWarning(_Loose):
    warning: str = ""
    description: str = ""


class DataResponse(_Loose):
    total: int = Field(ge=0)
    date_format: str | None = Field(default=None, alias="dateFormat")
    frequency: str | None = None
    data: list[Any]
    warnings: list[ApiWarning] = Field(default_factory=list)


class RequestEcho(_Loose):
    command: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class DataEnvelope(_Loose):
    response: DataResponse
    request: RequestEcho = Field(default_factory=RequestEcho)
    api_version: str | None = Field(default=None, alias="apiVersion")

    def promised_rows(self, page_size: int) -> int | None:
        """Rows this page must hold given `total` and the echoed offset/length; None if the echo lacks the offset."""
        params = self.request.params
        if "offset" not in params:
            return None
        offset = _as_int(params.get("offset"), 0)
        length = min(_as_int(params.get("length"), page_size), page_size)
        return max(0, min(length, self.response.total - offset))


def _as_int(value: object, default: int) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return default
    return number if number >= 0 else default


def error_message(document: dict[str, Any]) -> str | None:
    """EIA's error text if `document` is one of its error bodies, else None."""
    if "error" not in document:
        return None
    error = document["error"]
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
        return f"{code}: {message}" if code else str(message)
    code = document.get("code")
    return f"{code}: {error}" if code is not None else str(error)
