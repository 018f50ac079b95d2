"""The signals of the whole history, built once per set of inputs and kept in the lake for the next reader.

The scorecard (models job) rebuilds every signal of the history to score it, and the daily signals asset (the
signals job, a later run) needs the very same build when its window ends on or after the last day of the data.
Both call `signals_history`: the first builds and stores the result under gold/models/_cache/signals_history/,
keyed by a fingerprint of what the build reads (Delta versions of the tables, code, configuration); the second
reads it back when the key matches and the inputs it loaded are the whole tables (its window cut nothing: same
row counts at the same table versions), and otherwise builds. A build is a pure function of those inputs and the
run id is the only field that differs between two builds, so a reused history, given the reader's run id, is the
history the reader would have built. One entry is kept (the latest key); a stale or unreadable entry is a miss.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from assets.models.pipeline import ModelInputs
from assets.signals.build import SignalConfig
from assets.signals.stage import run_signals
from resources.lake.storage import LakeStorage

PARTS: tuple[str, ...] = ("signals", "weights", "thresholds")
_META = b"nexus_signals_history"


@dataclass(frozen=True)
class SignalsHistory:
    signals: pd.DataFrame
    weights: pd.DataFrame
    thresholds: pd.DataFrame
    reused: bool  # read back from the lake, not built in this call


def _uri(storage: LakeStorage, part: str) -> str:
    return storage.uri("gold", "models", "_cache", "signals_history", f"{part}.parquet")


def _stamp(key: str, inputs: ModelInputs, predictions: pd.DataFrame) -> dict[str, object]:
    """What an entry was built from: the fingerprint and the size of the inputs loaded under it."""
    return {"key": key, "features": len(inputs.features), "labels": len(inputs.labels), "predictions": len(predictions)}


def _write(storage: LakeStorage, stamp: dict[str, object], frames: dict[str, pd.DataFrame]) -> None:
    for part, frame in frames.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        entry = {**stamp, "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()}}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META: json.dumps(entry).encode()})
        sink = io.BytesIO()
        pq.write_table(table, sink)
        storage.write_bytes(_uri(storage, part), sink.getvalue())


def _read(storage: LakeStorage, stamp: dict[str, object], since: date | None = None) -> dict[str, pd.DataFrame] | None:
    frames = {}
    for part in PARTS:
        uri = _uri(storage, part)
        if not storage.exists(uri):
            return None
        try:
            table = pq.read_table(io.BytesIO(storage.read_bytes(uri)))
        except (OSError, pa.ArrowInvalid):  # a torn or foreign object: build instead
            return None
        entry = json.loads((table.schema.metadata or {}).get(_META, b"{}"))
        if {k: v for k, v in entry.items() if k != "dtypes"} != stamp:
            return None
        if part == "signals" and since is not None:
            kind = table.schema.field("signal_date").type  # date32 (the build's dates), or a timestamp
            day = pa.scalar(since if pa.types.is_date(kind) else pd.Timestamp(since), type=kind)
            table = table.filter(pc.greater_equal(table["signal_date"], day))
        frames[part] = _as_built(table, entry["dtypes"])
    return frames


def _as_built(table: pa.Table, dtypes: dict[str, str]) -> pd.DataFrame:
    """The frame with the dtypes it was written with: Parquet has no second-resolution timestamps, and pandas 3
    reads text as `str` where the build had `object`."""
    frame = table.to_pandas()
    for name, dtype in dtypes.items():
        if str(frame[name].dtype) == dtype:
            continue
        if dtype == "object":
            frame[name] = pd.Series(table.column(name).to_pylist(), index=frame.index, dtype=object)
        else:
            frame[name] = frame[name].astype(dtype)
    return frame


def signals_history(
    storage: LakeStorage,
    key: str,
    inputs: ModelInputs,
    predictions: pd.DataFrame,
    regimes: pd.DataFrame,
    config: SignalConfig,
    run_id: str,
    since: date | None = None,
) -> SignalsHistory:
    """`run_signals` on these inputs, read back from the lake when an entry of the same key and inputs is there.

    `key` must change whenever the tables read (features, labels, predictions, regimes), the code or `config`
    change: the caller's stage fingerprint of those. Inputs cut by a window (fewer rows than the entry's) miss.
    `since`: only the signals dated on or after it are returned (a reader of one window), cut from a reused entry
    before it becomes a frame: the whole history as a frame was the daily signals step's largest (~70 MB).
    """
    stamp = _stamp(key, inputs, predictions)
    if (found := _read(storage, stamp, since)) is not None:
        signals = found["signals"].assign(run_id=run_id)
        return SignalsHistory(signals, found["weights"], found["thresholds"], reused=True)
    signals, weights, thresholds = run_signals(inputs, predictions, regimes, config, run_id=run_id)
    _write(storage, stamp, dict(zip(PARTS, (signals, weights, thresholds), strict=True)))
    if since is not None:
        signals = signals[pd.to_datetime(signals["signal_date"]) >= pd.Timestamp(since)].reset_index(drop=True)
    return SignalsHistory(signals, weights, thresholds, reused=False)


__all__ = ["SignalsHistory", "signals_history"]
