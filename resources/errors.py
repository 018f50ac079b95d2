"""Typed errors. Every data error names the source, dataset, file or URL and row, so an operator can act on it.

Parsers raise only `SourceDataError` subclasses (fuzz tests hold them to that); HTTP failures that survive the
retries raise `SourceUnavailableError`. URLs in messages are redacted of credentials before they get here.
"""

from __future__ import annotations


class NexusError(Exception):
    """Base of every error Nexus raises on purpose."""


class ConfigError(NexusError):
    """A settings, universe, exposures or clients file is invalid."""


class SourceError(NexusError):
    """Something went wrong getting or reading one publisher payload."""

    def __init__(
        self,
        reason: str,
        *,
        source: str,
        dataset: str | None = None,
        location: str | None = None,
        row: int | None = None,
    ) -> None:
        self.reason = reason
        self.source = source
        self.dataset = dataset
        self.location = location
        self.row = row
        super().__init__(self._render())

    def _render(self) -> str:
        where = [f"source={self.source}"]
        if self.dataset:
            where.append(f"dataset={self.dataset}")
        if self.location:
            where.append(f"file={self.location}")
        if self.row is not None:
            where.append(f"row={self.row}")
        return f"{self.reason} [{', '.join(where)}]"


class SourceUnavailableError(SourceError):
    """The publisher could not be reached or kept failing after every retry."""


class SourceDataError(SourceError):
    """The payload arrived but is not what the publisher's format promises."""


class NotTabularError(SourceDataError):
    """The payload is not the expected format at all: an HTML error page, JSON error, binary, or empty body."""


class SchemaMismatchError(SourceDataError):
    """Columns are missing or renamed."""


class EmptyPayloadError(SourceDataError):
    """The payload has a header but no data rows."""


class TruncatedPayloadError(SourceDataError):
    """The body stops part-way (a cut-off download)."""


class TruncatedBodyError(TruncatedPayloadError, SourceUnavailableError):
    """An HTTP body kept arriving short of its declared length (or its last chunk) after every retry.

    Both a truncated payload and an unavailable publisher: callers that go on with the other datasets when one
    is unavailable still do.
    """


class BadRowsError(SourceDataError):
    """One or more rows failed validation; they went to quarantine and nothing of the payload reached silver."""

    def __init__(
        self,
        reason: str,
        *,
        source: str,
        dataset: str | None = None,
        location: str | None = None,
        row: int | None = None,
        bad_rows: int = 0,
    ) -> None:
        self.bad_rows = bad_rows
        super().__init__(reason, source=source, dataset=dataset, location=location, row=row)


class LeakageError(NexusError):
    """A feature or label would use information not available at the decision time."""


class DeliveryError(NexusError):
    """A client feed delivery was refused (entitlement, target validation) or failed."""


class QualityGateError(SourceDataError):
    """A blocking expectation failed on the staged rows: nothing was committed, the batch is in quarantine."""

    def __init__(self, reason: str, *, source: str, dataset: str | None, location: str | None, failed: list[str]):
        self.failed = failed
        super().__init__(reason, source=source, dataset=dataset, location=location)


class CommitConflictError(NexusError):
    """Another writer kept winning the Delta commit race on a table, after every retry."""
