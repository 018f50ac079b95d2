"""Keep what arrived of a live body that stayed cut: raw payloads are kept byte for byte, even defective ones.

The HTTP layer rejects a body cut short of its Content-Length or its last chunk (after its retries) as a
`TruncatedBodyError`; nothing of it reaches silver. Its bytes go to bronze like every payload, and a quarantine
row (error type `TruncatedBodyError`, row 0) points to them by sha256, so an operator can see what the
publisher sent.
"""

from __future__ import annotations

from resources.http import CutBody, CutBodySink
from resources.lake.bronze import RawPayload, put_payloads, stored_location
from resources.lake.quarantine import Rejection, quarantine_rows
from resources.lake.storage import LakeStorage


def cut_body_keeper(storage: LakeStorage, run_id: str) -> CutBodySink:
    """A `keep_cut_body` sink for `HttpFetcher`: bronze the bytes, quarantine the reason; returns the sha256."""

    def keep(body: CutBody) -> str:
        payload = RawPayload(
            source=body.source,
            dataset=body.dataset or body.source,
            location=body.location,
            data=body.data,
            fetched_at=body.fetched_at,
        )
        [record] = put_payloads(storage, [payload], run_id)
        quarantine_rows(
            storage,
            [Rejection(0, body.reason, None, "TruncatedBodyError")],
            source=payload.source,
            dataset=payload.dataset,
            location=stored_location(payload.location),
            source_sha256=record.sha256,
            run_id=run_id,
        )
        return f"sha256 {record.sha256[:16]}"

    return keep
