"""Row-level quarantine policy: when a payload's bad rows go to quarantine and its good rows still land.

- A structural problem (unknown layout, missing columns, truncated payload, HTML, binary, empty) rejects the
  payload whole: nothing of it reaches silver.
- Otherwise each bad row goes to quarantine with its reason and line, and the good rows land, unless the bad rows
  are more than `max_bad_row_share` of the payload's rows (setting `NEXUS_MAX_BAD_ROW_SHARE`) or more than
  `max_kept_bad_rows`: then the payload is rejected whole too. Parsers stop collecting at `max_kept_bad_rows`,
  so a huge file of garbage costs bounded memory and quarantines at most that many rows.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MAX_BAD_ROW_SHARE = 0.01
MAX_KEPT_BAD_ROWS = 10_000


class RowPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_bad_row_share: float = Field(default=DEFAULT_MAX_BAD_ROW_SHARE, ge=0, le=1)
    max_kept_bad_rows: int = Field(default=MAX_KEPT_BAD_ROWS, ge=1)

    def describe(self) -> str:
        return (
            f"bad rows are quarantined and the rest loads, unless they exceed {self.max_bad_row_share:.2%} of a "
            f"payload's rows or {self.max_kept_bad_rows:,} rows (then the payload is rejected whole); "
            "structural problems always reject the payload whole"
        )

    def rejects(self, bad: int, good: int) -> bool:
        total = bad + good
        return bad > 0 and (good == 0 or bad > self.max_kept_bad_rows or bad / total > self.max_bad_row_share)
