"""The simulated world's oracle scores, computed once per seed, horizons and world code, and kept in the lake.

Why: the evaluation (the leak audit's bound) and the scorecard (its `oracle` rows) run in separate step processes,
and each built the world (about 2.5 CPU s) and its expected returns again. The first to need them writes them under
gold/models/_cache/oracle/ as Parquet, stamped with the fingerprint of the code that makes them (the simulated
publisher and the COT release calendar the oracle reads); the next reads them back, the same frame to the bit. A
changed world (new code) has a new fingerprint, so a stale file is recomputed and overwritten, never used. The
file is one per seed and horizon set, overwritten in place like the signals history, so it does not pile up;
`prune_fit_cache` leaves it alone (it prunes its own .txt entries only).
"""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from resources.fit_cache import CACHE_PARTS
from resources.lake.stage_state import code_hash
from resources.lake.storage import LakeStorage

ORACLE_CODE: tuple[str, ...] = ("resources.simulated", "resources.sources.cot.calendar")
_KEY = b"nexus_oracle_code"


def oracle_uri(storage: LakeStorage, seed: int, horizons: tuple[int, ...]) -> str:
    name = f"seed_{seed}_h{'-'.join(str(h) for h in horizons)}.parquet"
    return storage.uri("gold", *CACHE_PARTS, "oracle", name)


def cached_oracle_scores(storage: LakeStorage, seed: int, horizons: tuple[int, ...]) -> pd.DataFrame:
    """`resources.simulated.oracle.oracle_scores(seed, horizons)`, read from the lake when the same world code
    wrote it there, else computed and written."""
    horizons = tuple(int(h) for h in horizons)
    uri, fingerprint = oracle_uri(storage, seed, horizons), code_hash(*ORACLE_CODE).encode()
    if storage.exists(uri):
        try:
            table = pq.read_table(io.BytesIO(storage.read_bytes(uri)))
        except (FileNotFoundError, pa.ArrowInvalid):  # removed meanwhile, or not whole: recompute
            table = None
        if table is not None and (table.schema.metadata or {}).get(_KEY) == fingerprint:
            return table.to_pandas()
    from resources.simulated.oracle import oracle_scores  # builds the world: only for a simulated lake

    frame = oracle_scores(seed, horizons)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _KEY: fingerprint})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    storage.write_bytes(uri, buffer.getvalue())
    return frame


__all__ = ["ORACLE_CODE", "cached_oracle_scores", "oracle_uri"]
