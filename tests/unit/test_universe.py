"""The universe file: the default is valid and complete; mistakes are reported with their location."""

from pathlib import Path

import pytest

from resources.errors import ConfigError
from resources.settings import Settings
from resources.universe import default_universe, get_universe, load_universe

DEFAULT_SYMBOLS = {"SPX", "NDX", "UST10Y", "EURUSD", "USDJPY", "USD", "WTI", "BRENT", "NATGAS", "VIX", "BTC", "ETH"}
DEFAULT_CODES = {
    "13874A",
    "209742",
    "043602",
    "099741",
    "097741",
    "098662",
    "067651",
    "06765T",
    "023651",
    "1170E1",
    "133741",
    "146021",
    "088691",
    "084691",
}


def test_default_universe():
    universe = default_universe()
    assert {i.symbol for i in universe.instruments} == DEFAULT_SYMBOLS
    assert {m.market_code for m in universe.cot_markets()} == DEFAULT_CODES
    assert universe.instrument("USDJPY").cot.sign == -1
    assert universe.instrument("UST10Y").price.kind == "yield"
    assert "SP500" in universe.series_for("fred") and "DGS2" in universe.series_for("fred")
    assert {"RWTC", "RCLC4", "WCESTUS1"} <= set(universe.series_for("eia"))
    assert {m.market_code for m in universe.cot_markets("disaggregated")} >= {"067651", "088691", "084691"}


def test_adding_an_instrument_is_a_file_edit(tmp_path: Path):
    source = (Path(__file__).parents[2] / "resources" / "config" / "universe.yaml").read_text()
    extra = source.replace(
        "positioning_only:",
        "  - symbol: GOLDX\n    name: Gold proxy\n    asset_class: commodity\n"
        "    price: {source: fred, series: GOLDAMGBD228NLBM}\n\npositioning_only:",
    ).replace('  - {market_code: "088691", name: "GOLD", report: disaggregated, sign: 1}\n', "")
    path = tmp_path / "universe.yaml"
    path.write_text(extra)
    universe = get_universe(Settings(universe_file=path).universe_file)
    assert "GOLDX" in {i.symbol for i in universe.instruments}
    assert "GOLDAMGBD228NLBM" in universe.series_for("fred")


HEAD = "instruments:\n  - symbol: {symbol}\n    name: x\n    asset_class: {cls}\n    price: {price}\n"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (HEAD.format(symbol="spx", cls="equity", price="{source: fred, series: A}"), "instruments.0.symbol"),
        (HEAD.format(symbol="X", cls="equity", price="{source: bloomberg, series: A}"), "instruments.0.price.source"),
        (HEAD.format(symbol="X", cls="rates", price="{source: fred, series: A, kind: yield}"), "duration"),
        (
            HEAD.format(symbol="X", cls="equity", price="{source: fred, series: A}")
            + "    cot: {market_code: '12', name: x, report: tff}\n",
            "market_code",
        ),
        ("instruments: [}", "not valid YAML"),
    ],
)
def test_mistakes_are_reported_with_their_location(tmp_path: Path, bad: str, message: str):
    path = tmp_path / "universe.yaml"
    path.write_text(bad)
    with pytest.raises(ConfigError, match=message):
        load_universe(path)
