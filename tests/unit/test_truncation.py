"""Truncation is never silent: files from the simulated publisher, cut in the middle of their last value, are
refused whole with `TruncatedPayloadError`; the real publisher files (some without a final newline) still load."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from resources.errors import TruncatedPayloadError
from resources.lake.bronze import RawPayload
from resources.lake.corrections import is_cut_of
from resources.simulated import cboe, coinmetrics, cot, eia, fred
from resources.sources.base import ParseResult
from resources.sources.cboe.parser import parse_cboe_csv, symbol_from_name
from resources.sources.coinmetrics.parser import parse_community_csv
from resources.sources.cot.parser import parse_cot_payload
from resources.sources.eia.parser import parse_daily_prices, parse_weekly_series
from resources.sources.fred.parser import parse_fred_csv, series_from_name
from resources.sources.truncation import EIA, check_tail

SEED, AS_OF = 7, date(2024, 3, 1)
AT = datetime(2024, 3, 1, 23, tzinfo=UTC)


def _payload(data: bytes, source: str, dataset: str) -> RawPayload:
    return RawPayload(source=source, dataset=dataset, location=f"sim/{dataset}", data=data, fetched_at=AT)


def _cut_last_value(data: bytes, keep: int) -> bytes:
    """The file without its final newline, cut `keep` characters into its last value."""
    body = data.rstrip(b"\r\n")
    start = max(body.rfind(b","), body.rfind(b"\n")) + 1
    if body[start : start + 1] == b'"':
        start += 1
    return body[: start + keep]


Case = tuple[str, Callable[[], bytes], Callable[[RawPayload], ParseResult], str, int]
CASES: list[Case] = [
    ("cboe-ohlc", lambda: cboe.history_csv(SEED, "VIX", AS_OF), parse_cboe_csv, "VIX", 4),  # 10.112896 -> 10.1
    ("cboe-close-only", lambda: cboe.history_csv(SEED, "SKEW", AS_OF), parse_cboe_csv, "SKEW", 5),
    ("fred-fixed-decimals", lambda: fred.download_csv(SEED, "DGS10", AS_OF), parse_fred_csv, "DGS10", 3),  # 3.6
    ("fred-cut-at-point", lambda: fred.download_csv(SEED, "DEXUSEU", AS_OF), parse_fred_csv, "DEXUSEU", 2),  # 1.
    ("fred-old-layout", lambda: fred.download_csv(SEED, "DGS2", AS_OF, layout="old"), parse_fred_csv, "DGS2", 2),
    (
        "eia-cut-at-point",
        lambda: eia.download_csv(SEED, "RNGWHHD", AT),
        parse_daily_prices,
        "RNGWHHD",
        2,  # 2.6 -> "2."
    ),
    ("eia-empty-value", lambda: eia.download_csv(SEED, "WCESTUS1", AT), parse_weekly_series, "WCESTUS1", 0),
    (
        "coinmetrics-cut-after-delimiter",
        lambda: coinmetrics.community_csv(SEED, "btc", AS_OF),
        parse_community_csv,
        "btc",
        0,
    ),
    ("coinmetrics-cut-at-point", lambda: coinmetrics.community_csv(SEED, "btc", AS_OF), parse_community_csv, "btc", 2),
    ("cot-legacy", lambda: cot.annual_text(SEED, "legacy", 2023, AS_OF), parse_cot_payload, "legacy_futures_only", 3),
    ("cot-tff", lambda: cot.annual_text(SEED, "tff", 2023, AS_OF), parse_cot_payload, "tff_futures_only", 1),
    (
        "cot-disaggregated",
        lambda: cot.annual_text(SEED, "disaggregated", 2023, AS_OF),
        parse_cot_payload,
        "disaggregated_futures_only",
        2,
    ),
]


@pytest.mark.parametrize(("name", "make", "parse", "dataset", "keep"), CASES, ids=[c[0] for c in CASES])
def test_a_file_cut_in_its_last_value_is_refused_whole(name: str, make, parse, dataset: str, keep: int) -> None:
    data = make()
    source = name.split("-")[0]
    parse(_payload(data, source, dataset))  # whole, it loads
    cut = _cut_last_value(data, keep)
    with pytest.raises(TruncatedPayloadError, match="cut off") as info:
        parse(_payload(cut, source, dataset))
    assert info.value.dataset == dataset and info.value.location == f"sim/{dataset}"


def test_real_shaped_files_without_a_final_newline_still_load() -> None:
    """EIA ships no final newline; FRED's current layout and Coin Metrics often do not either."""
    for data, parse, dataset in (
        (eia.download_csv(SEED, "WCESTUS1", AT), parse_weekly_series, "WCESTUS1"),
        (fred.download_csv(SEED, "DGS10", AS_OF).rstrip(b"\n"), parse_fred_csv, "DGS10"),
        (coinmetrics.community_csv(SEED, "btc", AS_OF).rstrip(b"\n"), parse_community_csv, "btc"),
    ):
        result = parse(_payload(data, "x", dataset))
        assert result.table.num_rows > 100
        assert result.cut_candidate is not None  # remembered, in case a later payload shows it was cut


def test_cboe_and_cot_need_their_final_newline() -> None:
    """Their files always end with one, so a file that stops at a line end without it is cut too."""
    vix = cboe.history_csv(SEED, "VIX", AS_OF).rstrip(b"\n")
    with pytest.raises(TruncatedPayloadError, match="Cboe ends every file with a newline"):
        parse_cboe_csv(_payload(vix, "cboe", "VIX"))
    legacy = cot.annual_text(SEED, "legacy", 2023, AS_OF).rstrip(b"\r\n")
    with pytest.raises(TruncatedPayloadError, match="CFTC ends every file"):
        parse_cot_payload(_payload(legacy, "cot", "legacy_futures_only"))


def test_cot_never_accepts_an_unterminated_quote() -> None:
    text = cot.annual_text(SEED, "tff", 2023, AS_OF)
    cut = text[: text.rindex(b'"')] + b"\r\n"  # ends with a newline, inside the last quoted field
    with pytest.raises(TruncatedPayloadError, match="unterminated quote"):
        parse_cot_payload(_payload(cut, "cot", "tff_futures_only"))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("h\n" + "\n".join(f"01/{d}/2020,1.25" for d in range(1, 20)) + "\n01/20/2020,1.2", "every value above 2"),
        ("h\n" + "\n".join(f"2020-01-{d:02d},3" for d in range(1, 20)) + "\n2020-01-20,3e", "unfinished number"),
        ("h\n" + "\n".join(f"2020-01-{d:02d},x,3" for d in range(1, 20)) + '\n2020-01-20,"x,3', "quoted field"),
        ("a,b\n" + "\n".join(f"x,2020-01-{d:02d}" for d in range(1, 20)) + "\nx,2020-01-2", "whole date"),
    ],
)
def test_tail_rules(text: str, words: str) -> None:
    with pytest.raises(TruncatedPayloadError, match=words):
        check_tail(text, EIA, {"source": "eia"})


def test_cut_values_are_told_from_revisions() -> None:
    assert is_cut_of("22.4", 22.45) and is_cut_of("6.", 6.29) and is_cut_of("4183", 418310.0)
    assert not is_cut_of("22.45", 22.45) and not is_cut_of("22.5", 22.45) and not is_cut_of("3", None)


def test_every_real_file_still_loads(real_data: Path) -> None:
    parsers = {
        "cboe": lambda p: parse_cboe_csv(_payload(p.read_bytes(), "cboe", symbol_from_name(p.name))),
        "fred": lambda p: parse_fred_csv(_payload(p.read_bytes(), "fred", series_from_name(p.name))),
        "coinmetrics": lambda p: parse_community_csv(_payload(p.read_bytes(), "coinmetrics", p.stem)),
        "eia": lambda p: (parse_weekly_series if p.name.startswith("Weekly") else parse_daily_prices)(
            _payload(p.read_bytes(), "eia", p.stem)
        ),
        "cot": lambda p: parse_cot_payload(_payload(p.read_bytes(), "cot", p.parent.name)),
    }
    loaded = 0
    for path in sorted(real_data.rglob("*")):
        source = path.relative_to(real_data).parts[0]
        if path.suffix not in (".csv", ".txt") or source not in parsers:
            continue
        result = parsers[source](path)
        assert result.table.num_rows > 100 and not result.rejections, path.name
        loaded += 1
    assert loaded >= 20
