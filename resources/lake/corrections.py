"""Corrected, not revised: a value that a payload's unterminated last line may have cut is fixed in place.

A payload whose last line has no final newline can look whole and still be cut (a Coin Metrics float cut to
fewer digits, an EIA `3.82` cut to `3.8`). Such a value is recorded here as a cut candidate: the table, the
row's natural key, the value's text and the payload. When a later payload carries the same key with a value
whose text the old text strictly prefixes (`3.8` -> `3.82`), the old value was never published: the silver
version is updated in place (keeping its `available_at`, so point-in-time views show the true value from the
time it was first known) and the correction is recorded in quarantine (`error_type=CorrectedCutValue`). Any
other later value for the key retires the candidate, and ordinary versioning applies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from resources.lake.delta import ensure_table, insert_new, open_table, read_table, scan, table_uri
from resources.lake.quarantine import Rejection, quarantine_rows
from resources.lake.storage import LakeStorage
from resources.lake.tables import UTC_TS, TableSpec

CUT_CANDIDATES = TableSpec(
    zone="quarantine",
    name="cut_candidates",
    schema=pa.schema(
        [
            pa.field("table_name", pa.string(), nullable=False),
            pa.field("key_json", pa.string(), nullable=False),
            pa.field("value_column", pa.string(), nullable=False),
            pa.field("value_text", pa.string(), nullable=False),
            pa.field("source_sha256", pa.string(), nullable=False),
            pa.field("location", pa.string(), nullable=False),
            pa.field("row_number", pa.int64(), nullable=False),
            pa.field("recorded_at", UTC_TS, nullable=False),
        ]
    ),
    keys=("table_name", "key_json"),
    description="Silver values read from a payload's unterminated last line, until a later payload confirms them.",
)


_NUMBER_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def is_cut_of(old_text: str, new_value: float | None) -> bool:
    """True if `old_text` is a strict prefix of `new_value`'s shortest decimal text: a value cut off in transit."""
    old = old_text.strip()
    if new_value is None or not _NUMBER_TEXT.match(old) or "e" in old.lower():
        return False
    for places in range(0, 18):
        full = f"{new_value:.{places}f}"
        if float(full) == new_value:
            break
    else:
        full = repr(new_value)
    return len(full) > len(old) and full.startswith(old)


@dataclass(frozen=True)
class Correction:
    """A cut value to fix in place: silver row (key, version) gets `new_value` in `column`."""

    key: dict[str, object]
    column: str
    old_text: str
    new_value: float
    version: int
    candidate: dict[str, object]


def key_json(key: dict[str, object]) -> str:
    return json.dumps({k: v.isoformat() if isinstance(v, date) else v for k, v in sorted(key.items())})


def _sql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _mask(rows: pa.Table, key: dict[str, object]) -> pa.Array:
    mask = None
    for name, value in key.items():
        column = rows[name]
        test = pc.equal(column, pa.scalar(value).cast(column.type))
        mask = test if mask is None else pc.and_(mask, test)
    assert mask is not None
    return pc.fill_null(mask, False)


def _latest(storage: LakeStorage, spec: TableSpec, key: dict[str, object]) -> dict[str, object] | None:
    table = open_table(storage, spec)
    if table is None:
        return None
    filters = [(name, "=", value) for name, value in key.items()]
    found = scan(storage, table, table_uri(storage, spec), filters=filters)
    if not found.num_rows:
        return None
    return max(found.to_pylist(), key=lambda row: row["version"])


def _latest_in(frame: pd.DataFrame, key: dict[str, object]) -> dict[str, object] | None:
    if frame.empty:
        return None
    mask = pd.Series(True, index=frame.index)
    for name, value in key.items():
        mask &= frame[name] == value
    found = frame[mask]
    return None if found.empty else found.loc[found["version"].idxmax()].to_dict()


def load_candidates(storage: LakeStorage, spec: TableSpec) -> list[dict[str, object]]:
    if open_table(storage, CUT_CANDIDATES) is None:
        return []
    return read_table(storage, CUT_CANDIDATES, filters=[("table_name", "=", spec.name)]).to_pylist()


def _retire(storage: LakeStorage, spec: TableSpec, key: str) -> None:
    table = ensure_table(storage, CUT_CANDIDATES)
    table.delete(f"table_name = {_sql(spec.name)} AND key_json = {_sql(key)}")


def find_corrections(
    spec: TableSpec, candidates: list[dict[str, object]], rows: pa.Table, current: pd.DataFrame, source_sha256: str
) -> tuple[list[Correction], list[str]]:
    """(cut values `rows` complete, keys of the candidates `rows` carry otherwise). Reads and writes nothing.

    `current` is the table as it stands (with `source_sha256` and `version`); a candidate counts only while the
    current value of its key still comes from the payload that recorded it.
    """
    corrections: list[Correction] = []
    retire: list[str] = []
    for candidate in candidates:
        if candidate["source_sha256"] == source_sha256:
            continue
        key = json.loads(str(candidate["key_json"]))
        for name in key:
            if pa.types.is_date(rows.schema.field(name).type):
                key[name] = date.fromisoformat(key[name])
        matched = rows.filter(_mask(rows, key))
        if not matched.num_rows:
            continue
        column = str(candidate["value_column"])
        new_value = matched[column][0].as_py()
        now = _latest_in(current, key)
        if (
            now is not None
            and now["source_sha256"] == candidate["source_sha256"]
            and is_cut_of(str(candidate["value_text"]), new_value)
        ):
            old = str(candidate["value_text"])
            corrections.append(Correction(key, column, old, new_value, int(now["version"]), candidate))
        retire.append(str(candidate["key_json"]))
    return corrections, retire


def apply_corrections(
    storage: LakeStorage,
    spec: TableSpec,
    corrections: list[Correction],
    retire: list[str],
    *,
    source: str,
    dataset: str,
    by_sha256: str,
    run_id: str,
) -> None:
    """Write corrections in place (value only: available_at stays), note each in quarantine, retire candidates."""
    for fix in corrections:
        update = pa.Table.from_pylist(
            [{**fix.key, "version": fix.version, fix.column: fix.new_value}],
            schema=pa.schema([spec.schema.field(n) for n in [*spec.keys, "version", fix.column]]),
        )
        predicate = " AND ".join(f"t.`{k}` = s.`{k}`" for k in [*spec.keys, "version"])
        (
            ensure_table(storage, spec)
            .merge(source=update, predicate=predicate, source_alias="s", target_alias="t")
            .when_matched_update(updates={fix.column: f"s.`{fix.column}`"})
            .execute()
        )
        candidate = fix.candidate
        quarantine_rows(
            storage,
            [
                Rejection(
                    int(candidate["row_number"]),  # type: ignore[arg-type]
                    f"{fix.column} {fix.old_text!r} from the unterminated last line of {candidate['location']} was"
                    f" cut off; corrected in place to {fix.new_value!r} (version {fix.version}) by payload"
                    f" {by_sha256[:12]}",
                    fix.old_text,
                    "CorrectedCutValue",
                )
            ],
            source=source,
            dataset=dataset,
            location=str(candidate["location"]),
            source_sha256=str(candidate["source_sha256"]),
            run_id=run_id,
        )
    for key in retire:
        _retire(storage, spec, key)


def record_cut_candidate(
    storage: LakeStorage,
    spec: TableSpec,
    *,
    key: dict[str, object],
    column: str,
    text: str,
    row_number: int,
    source_sha256: str,
    location: str,
) -> bool:
    """Remember a value read from an unterminated last line, if silver's current value for its key came from it."""
    current = _latest(storage, spec, key)
    if current is None or current["source_sha256"] != source_sha256:
        return False
    encoded = key_json(key)
    _retire(storage, spec, encoded)
    row = {
        "table_name": spec.name,
        "key_json": encoded,
        "value_column": column,
        "value_text": text,
        "source_sha256": source_sha256,
        "location": location,
        "row_number": row_number,
        "recorded_at": datetime.now(UTC),
    }
    insert_new(storage, CUT_CANDIDATES, pa.Table.from_pylist([row], schema=CUT_CANDIDATES.schema))
    return True
