"""Write-audit-publish for silver: stage a batch's new versions, validate the candidate table, then commit.

Nobody can read a staged row before its table's blocking suite has passed on the candidate (the current table
plus every staged row, cut-off values corrected): a failing expectation commits nothing, so the table stays at
its previous Delta version. A passing batch is committed in one Delta commit whose metadata carries the gate's
result (`nexus.gate`), which the asset check reports.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
from deltalake.exceptions import CommitFailedError

from resources.errors import CommitConflictError, QualityGateError
from resources.lake.bronze import BronzeRecord, stored_location
from resources.lake.corrections import (
    Correction,
    apply_corrections,
    find_corrections,
    load_candidates,
    record_cut_candidate,
)
from resources.lake.delta import COMMIT_ATTEMPTS, commit_versions, ensure_table, plan_versioned, read_table
from resources.lake.storage import LakeStorage
from resources.lake.tables import TableSpec
from resources.quality.suites import SilverSuite, SuiteOutcome, suite_fingerprint, validate
from resources.sources.late_release import first_seen_window

if TYPE_CHECKING:
    from resources.sources.base import CutCandidate, PayloadOutcome

log = logging.getLogger(__name__)
GATE_METADATA_KEY = "nexus.gate"


class _TableMoved(Exception):
    """The table got a commit from another writer after this batch read it: plan again."""


@dataclass
class Staged:
    record: BronzeRecord
    table: pa.Table  # the payload's parsed rows, to plan again after a lost commit race
    rows: pa.Table  # the new versions they add
    corrections: list[Correction]
    retire: list[str]
    cut: CutCandidate | None
    outcome: PayloadOutcome


@dataclass
class StagedBatch:
    storage: LakeStorage
    spec: TableSpec
    staged: list[Staged] = field(default_factory=list)
    _current: pd.DataFrame | None = None
    _candidates: list[dict[str, Any]] | None = None
    _base_version: int | None = None
    # staged rows not yet appended to _current: in staging order, and by the value of the leading key column
    _staged_rows: list[pd.DataFrame] = field(default_factory=list)
    _pending: dict[Any, list[pd.DataFrame]] = field(default_factory=dict)
    # positions in _current of each leading key value (built once per _current)
    _positions: dict[Any, Any] | None = None

    @property
    def current(self) -> pd.DataFrame:
        """The candidate table: what is committed plus what this batch staged so far."""
        if self._current is None:
            self._base_version = ensure_table(self.storage, self.spec).version()
            self._current = read_table(self.storage, self.spec).to_pandas()
            self._candidates = load_candidates(self.storage, self.spec)
            self._staged_rows, self._pending, self._positions = [], {}, None
        if self._staged_rows:
            self._current = pd.concat([self._current, *self._staged_rows], ignore_index=True)
            self._staged_rows, self._pending, self._positions = [], {}, None
        return self._current

    def _candidate_rows(self, table: pa.Table) -> pd.DataFrame:
        """The candidate table's rows of the keys `table` carries, by its leading key column (a FRED series, a
        Cboe symbol...): what planning needs, found without scanning the candidate table for every payload, so a
        batch of many payloads costs what its rows cost (planning against the whole table was quadratic)."""
        lead = self.spec.keys[0]
        wanted = table.column(lead).to_pandas()
        if wanted.isna().any():  # a null key matches nothing by value: plan against everything
            return self.current
        if self._current is None:
            _ = self.current
        if self._positions is None:
            self._positions = self._current.groupby(lead, sort=False, dropna=False).indices
        parts = []
        for value in pd.unique(wanted):
            if value in self._positions:
                parts.append(self._current.iloc[self._positions[value]])
            parts.extend(self._pending.get(value, []))
        if not parts:
            return self._current.iloc[0:0]
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

    def stage(self, record: BronzeRecord, table: pa.Table, cut: CutCandidate | None, outcome: PayloadOutcome) -> None:
        if self._current is None:
            _ = self.current
        corrections: list[Correction] = []
        retire: list[str] = []
        if self._candidates:  # cut values this payload may complete: a rare path, on the whole candidate table
            current = self.current
            corrections, retire = find_corrections(self.spec, self._candidates, table, current, record.sha256)
            for fix in corrections:
                mask = current["version"] == fix.version
                for name, value in fix.key.items():
                    mask &= current[name] == value
                current.loc[mask, fix.column] = fix.new_value
            self._candidates = [c for c in self._candidates if c["key_json"] not in set(retire)]
        planned, stats = plan_versioned(
            self.spec,
            table,
            self._candidate_rows(table),
            revision_available_at=record.payload.knowledge_time,
            first_seen_window=first_seen_window(record.payload),
        )
        outcome.added, outcome.revised, outcome.unchanged = stats.added, stats.revised, stats.unchanged
        outcome.corrected = len(corrections)
        if planned.num_rows:
            rows = planned.to_pandas()
            self._staged_rows.append(rows)
            lead = self.spec.keys[0]
            for value, positions in rows.groupby(lead, sort=False, dropna=False).indices.items():
                self._pending.setdefault(value, []).append(rows.iloc[positions])
        self.staged.append(Staged(record, table, planned, corrections, retire, cut, outcome))

    def publish(self, suite: SilverSuite | None, *, run_id: str, attempts: int = COMMIT_ATTEMPTS) -> str:
        """Validate the candidate and commit the batch; raise `QualityGateError` (committing nothing) if it fails.

        When another writer commits to the table first, the batch is planned and validated again against the new
        table (so two ingests never both write version n of a key), up to `attempts` times, then
        `CommitConflictError` is raised.
        """
        for attempt in range(1, attempts + 1):
            try:
                return self._publish_once(suite, run_id=run_id)
            except (CommitFailedError, _TableMoved) as exc:
                if attempt == attempts:
                    raise CommitConflictError(
                        f"silver/{self.spec.name}: another writer kept winning the Delta commit race"
                        f" ({attempts} attempts): {exc}"
                    ) from None
                log.warning("silver/%s: %s; planning the batch again (attempt %d)", self.spec.name, exc, attempt + 1)
                time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
                self._restage()
        raise AssertionError("unreachable")

    def _restage(self) -> None:
        staged, self.staged = self.staged, []
        self._current = self._candidates = None
        self._staged_rows, self._pending, self._positions = [], {}, None
        for item in staged:
            self.stage(item.record, item.table, item.cut, item.outcome)

    def _publish_once(self, suite: SilverSuite | None, *, run_id: str) -> str:
        moved_to = ensure_table(self.storage, self.spec).version()
        if moved_to != self._base_version:  # another writer committed since the batch was planned
            raise _TableMoved(f"table moved from version {self._base_version} to {moved_to} while staging")
        verdict = "no blocking suite"
        gate: dict[str, Any] = {"run_id": run_id, "passed": True}
        if suite is not None:
            outcome = validate(self.current, suite)
            if not outcome.success:
                raise self._refusal(outcome)
            verdict = f"{suite.name}: {len(outcome.results)} expectations passed on {outcome.rows:,} candidate rows"
            gate["suite_fingerprint"] = suite_fingerprint(suite)
        for staged in self.staged:
            payload = staged.record.payload
            apply_corrections(
                self.storage,
                self.spec,
                staged.corrections,
                staged.retire,
                source=payload.source,
                dataset=payload.dataset,
                by_sha256=staged.record.sha256,
                run_id=run_id,
            )
        planned = [s.rows for s in self.staged if s.rows.num_rows]
        metadata = {GATE_METADATA_KEY: json.dumps({**gate, "verdict": verdict})}
        if planned:
            commit_versions(
                self.storage,
                self.spec,
                pa.concat_tables(planned),
                metadata=metadata,
                read_version=None if any(s.corrections for s in self.staged) else self._base_version,
            )
        for staged in self.staged:
            if staged.cut is not None:
                record_cut_candidate(
                    self.storage,
                    self.spec,
                    key=staged.cut.key,
                    column=staged.cut.column,
                    text=staged.cut.text,
                    row_number=staged.cut.row_number,
                    source_sha256=staged.record.sha256,
                    location=stored_location(staged.record.payload.location),
                )
        return verdict

    def _refusal(self, outcome: SuiteOutcome) -> QualityGateError:
        payload = self.staged[0].record.payload
        more = f" (+{len(self.staged) - 1} more payloads)" if len(self.staged) > 1 else ""
        return gate_refusal(
            outcome,
            table=self.spec.name,
            base_version=self._base_version,
            source=payload.source,
            dataset=payload.dataset,
            location=f"{payload.location}{more}",
        )


def gate_refusal(
    outcome: SuiteOutcome,
    *,
    table: str,
    base_version: int | None,
    source: str,
    dataset: str | None,
    location: str | None,
    batch: str = "batch",
) -> QualityGateError:
    """The typed error of a failed blocking suite, naming the worst expectation and the version the table keeps
    (shared by the nightly batch and the backfill gate, so an operator reads one message either way)."""
    failed = [f"{f.expectation}({f.column or ''})" for f in outcome.failures]
    worst = outcome.failures[0]
    kept = "left empty" if base_version is None else f"left at version {base_version}"
    return QualityGateError(
        f"blocking expectation {worst.expectation} failed on {worst.column or 'the table'}"
        f" ({worst.unexpected_count} unexpected; {worst.detail})"
        + (f" and {len(failed) - 1} more ({', '.join(failed[1:4])})" if len(failed) > 1 else "")
        + f"; silver/{table} {kept}, nothing of this {batch} committed",
        source=source,
        dataset=dataset,
        location=location,
        failed=failed,
    )


def committed_gate(storage: LakeStorage, spec: TableSpec) -> dict[str, Any] | None:
    """The gate result stored with the table's latest commit, when that commit is a gated batch."""
    from resources.lake.delta import open_table

    table = open_table(storage, spec)
    if table is None:
        return None
    [last] = table.history(1) or [None]
    if not last or GATE_METADATA_KEY not in last:
        return None
    return {**json.loads(last[GATE_METADATA_KEY]), "version": last.get("version")}
