"""The hedging desk's exposures file (`resources/config/exposures.yaml`): what the desk holds and must hedge.

Validated by pydantic: an unknown instrument, a non-positive notional, a side other than long/short or a duplicate
id is reported with its location in the file, before anything is computed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from resources.errors import ConfigError
from resources.settings import PROJECT_ROOT
from resources.universe import Universe

DEFAULT_EXPOSURES_FILE = PROJECT_ROOT / "resources" / "config" / "exposures.yaml"
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class Exposure(BaseModel):
    """One position of the business: `long` gains when the instrument rises (a producer's inventory), `short`
    gains when it falls (a consumer's future purchases)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exposure_id: str = Field(description="lowercase slug, unique in the file")
    instrument: str = Field(description="a symbol of the universe")
    notional_usd: float = Field(gt=0, description="size of the exposure in US dollars")
    side: Literal["long", "short"]
    description: str = ""

    @field_validator("exposure_id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"exposure id {value!r} must be a lowercase slug (letters, digits, - and _)")
        return value

    @field_validator("side", mode="before")
    @classmethod
    def _side(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def sign(self) -> int:
        return 1 if self.side == "long" else -1


class ExposuresFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    exposures: list[Exposure] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ExposuresFile:
        ids = [e.exposure_id for e in self.exposures]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate exposure ids: {dupes}")
        return self

    def check_instruments(self, universe: Universe, source: str = "exposures") -> ExposuresFile:
        known = {i.symbol for i in universe.instruments}
        unknown = [f"{e.exposure_id}: {e.instrument}" for e in self.exposures if e.instrument not in known]
        if unknown:
            raise ConfigError(
                f"{source}: instruments not in the universe ({'; '.join(unknown)}); known: {', '.join(sorted(known))}"
            )
        return self


def parse_exposures(raw: object, source: str = "exposures") -> ExposuresFile:
    try:
        return ExposuresFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ConfigError(f"{source} is invalid: {problems}") from None


def load_exposures(path: Path = DEFAULT_EXPOSURES_FILE, universe: Universe | None = None) -> ExposuresFile:
    """Read and validate an exposures file (and its instruments against the universe, when given)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"exposures file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"exposures file {path} is not valid YAML: {exc}") from None
    parsed = parse_exposures(raw, source=f"exposures file {path}")
    return parsed.check_instruments(universe, source=f"exposures file {path}") if universe is not None else parsed
