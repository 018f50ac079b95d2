"""Layout variants the real publishers ship beyond the ones in ../shared/data/real, one cheap test per class, each
from a synthetic file the simulated publisher writes in that layout (never from a real file)."""

from datetime import UTC, date, datetime

import pyarrow.compute as pc

from resources.lake.bronze import RawPayload
from resources.simulated import cboe
from resources.sources.cboe.parser import parse_cboe_csv

SEED, AS_OF = 7, date(2004, 3, 1)


def _payload(source: str, dataset: str, data: bytes, name: str) -> RawPayload:
    return RawPayload(source=source, dataset=dataset, location=f"/d/{name}", data=data, fetched_at=datetime.now(UTC))


def test_cboe_older_downloads_with_a_disclaimer_and_symbol_prefixed_columns_load_like_the_current_file():
    """`vixcurrent.csv` and friends: a disclaimer line, `Date,VIX Open,...,VIX Close`, M/D/YYYY, two decimals."""
    for symbol in ("VIX", "SKEW"):
        legacy = parse_cboe_csv(_payload("cboe", symbol, cboe.history_csv(SEED, symbol, AS_OF, layout="legacy"), "x"))
        current = parse_cboe_csv(_payload("cboe", symbol, cboe.history_csv(SEED, symbol, AS_OF), "y"))
        assert not legacy.rejections and legacy.table.num_rows == current.table.num_rows > 1000
        assert legacy.table["observed_date"] == current.table["observed_date"]
        error = pc.max(pc.abs(pc.subtract(legacy.table["close"], current.table["close"]))).as_py()
        assert error <= 0.005  # the older files round to cents
        if symbol == "VIX":
            assert legacy.table["open"].null_count == 0
