"""The simulated EIA publisher: API v2 behaviour, download CSVs, point-in-time state and the world's numbers."""

import json
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd
import pytest

from resources.lake.bronze import RawPayload
from resources.simulated.eia import (
    WIRE,
    base_values,
    download_csv,
    published,
    revisions,
    write_files,
)
from resources.simulated.publisher import Request, SimulatedPublisher
from resources.simulated.world import world_for
from resources.sources.eia.parser import parse_daily_prices, parse_weekly_series
from resources.sources.eia.spec import SERIES

SEED = 7
AS_OF = date(2024, 6, 28)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(22, 0), tzinfo=UTC)


def _get(path: str, as_of: date = AS_OF, **query: str | list[str]) -> tuple[int, dict]:
    params = {k: v if isinstance(v, list) else [v] for k, v in query.items()}
    response = SimulatedPublisher(SEED, as_of).handle(Request("GET", path, params))
    return response.status, json.loads(response.body)


def _query(**extra: str | list[str]) -> dict[str, str | list[str]]:
    base: dict[str, str | list[str]] = {
        "api_key": "k",
        "frequency": "weekly",
        "data[0]": "value",
        "facets[series][]": ["WCESTUS1", "WPULEUS3"],
    }
    return {**base, **extra}


def test_a_data_page_has_eias_shape():
    status, doc = _get("/v2/petroleum/sum/sndw/data/", **_query(start="2024-01-01"))
    assert status == 200 and set(doc) == {"response", "request", "apiVersion", "ExcelAddInVersion"}
    response = doc["response"]
    assert response["frequency"] == "weekly" and response["dateFormat"] == "YYYY-MM-DD"
    first = response["data"][0]
    assert list(first) == [
        "period",
        "duoarea",
        "area-name",
        "product",
        "product-name",
        "process",
        "process-name",
        "series",
        "series-description",
        "value",
        "units",
    ]
    assert isinstance(first["value"], str) and first["period"] >= "2024-01-01"
    assert int(response["total"]) == len(response["data"]) == 2 * 25  # 25 weeks released by 28 June 2024
    assert doc["request"]["command"] == "/v2/petroleum/sum/sndw/data/"
    assert doc["request"]["params"]["api_key"] == "k"  # EIA echoes the key: the client must mask it


def test_paging_sorting_and_facets():
    status, doc = _get("/v2/petroleum/sum/sndw/data/", **_query(offset="3", length="4"))
    everything = _get("/v2/petroleum/sum/sndw/data/", **_query(length="5000"))[1]["response"]["data"]
    assert status == 200 and doc["response"]["total"] == str(len(everything))
    assert doc["response"]["data"] == everything[3:7]
    assert [(r["period"], r["series"]) for r in everything] == sorted((r["period"], r["series"]) for r in everything)
    newest = _get(
        "/v2/petroleum/sum/sndw/data/",
        **_query(**{"sort[0][column]": "period", "sort[0][direction]": "desc", "length": "2"}),
    )[1]
    assert [r["period"] for r in newest["response"]["data"]] == [everything[-1]["period"]] * 2
    only = _get("/v2/petroleum/sum/sndw/data/", **_query(**{"facets[series][]": "WPULEUS3", "length": "10"}))[1]
    assert {r["series"] for r in only["response"]["data"]} == {"WPULEUS3"}
    none = _get("/v2/petroleum/sum/sndw/data/", **_query(**{"facets[series][]": "NOPE"}))[1]
    assert none["response"]["total"] == "0" and none["response"]["data"] == []


def test_more_than_5000_rows_are_paged_with_a_warning():
    query = {"api_key": "k", "frequency": "daily", "data[]": "value", "length": "9000"}
    status, doc = _get("/v2/natural-gas/pri/fut/data/", **query)
    assert status == 200 and len(doc["response"]["data"]) == 5000 and int(doc["response"]["total"]) > 5000
    assert doc["response"]["warnings"][0]["warning"] == "incomplete return"


def test_error_shapes():
    status, doc = _get("/v2/petroleum/sum/sndw/data/", frequency="weekly")
    assert status == 403 and doc["error"]["code"] == "API_KEY_MISSING"
    status, doc = _get("/v2/petroleum/sum/sndw/data/", **_query(frequency="daily"))
    assert status == 400 and doc["code"] == 400 and "Invalid frequency 'daily'" in doc["error"]
    assert _get("/v2/petroleum/nope/route/data/", api_key="k")[0] == 404
    assert _get("/v2/petroleum/sum/sndw", api_key="k") == (404, {"error": "Not found.", "code": 404})
    status, doc = _get("/v2/petroleum/sum/sndw/data/", api_key="k", frequency="weekly")  # no data[]: no values
    assert status == 200 and "value" not in doc["response"]["data"][0]
    status, doc = _get("/v2/petroleum/sum/sndw/data/", **_query(**{"data[0]": "price"}))
    assert status == 400 and "Invalid data 'price'" in doc["error"]
    status, doc = _get("/v2/petroleum/sum/sndw/data/", **_query(**{"facets[stateid][]": "CO"}))
    assert status == 400 and "Invalid facet 'stateid'" in doc["error"]
    status, doc = _get("/v2/petroleum/sum/sndw/data/", **_query(offset="x"))
    assert status == 400


def test_any_facet_filters():
    _, doc = _get("/v2/natural-gas/pri/fut/data/", api_key="k", frequency="daily", **{"facets[process][]": "PS0"})
    assert {r["series"] for r in doc["response"]["data"]} == {"RNGWHHD"}


def test_the_api_pages_parse_back_to_the_published_values():
    query = {"api_key": "k", "frequency": "daily", "data[0]": "value", "facets[series][]": ["RWTC", "RBRTE"]}
    query["start"] = "2024-01-01"
    response = SimulatedPublisher(SEED, AS_OF).handle(
        Request("GET", "/v2/petroleum/pri/spt/data/", {k: v if isinstance(v, list) else [v] for k, v in query.items()})
    )
    payload = RawPayload("eia", "petroleum_spot_prices", "sim", response.body, datetime.now(UTC))
    table = parse_daily_prices(payload).table.to_pandas()
    wti = table[table.series_id == "RWTC"].set_index("period")["value"]
    expected = published(SEED, "RWTC", _at(AS_OF))
    expected = expected[expected.index >= date(2024, 1, 1)]
    assert wti.to_dict() == pytest.approx(expected.to_dict())


def test_state_is_what_eia_had_released_by_the_as_of_time():
    crude = published(SEED, "WCESTUS1", _at(AS_OF))
    assert crude.index.max() == date(2024, 6, 21)  # released Wednesday 26 June
    assert published(SEED, "WCESTUS1", _at(date(2024, 6, 25))).index.max() == date(2024, 6, 14)
    prices = published(SEED, "RWTC", _at(AS_OF))
    assert prices.index.max() == date(2024, 6, 21)  # the week's prices come with that Wednesday's refresh


def test_prefix_stable_except_for_published_revisions():
    early, late = _at(date(2022, 6, 30)), _at(date(2024, 6, 28))
    for series_id in ("WCESTUS1", "NW2_EPG0_SWO_R48_BCF", "RWTC"):
        before, after = published(SEED, series_id, early), published(SEED, series_id, late)
        assert before.index.equals(after.index[: len(before)])
        changed = set(before[after.loc[before.index] != before].index)
        released = base_values(SEED, series_id)["released_at"]
        assert changed <= {e.period for e in revisions(SEED, series_id) if released.loc[e.released_with] > early}
    assert not revisions(SEED, "RWTC")
    assert len(revisions(SEED, "NW2_EPG0_SWO_R48_BCF")) > len(revisions(SEED, "WCESTUS1"))


@pytest.mark.parametrize("series_id", ["WCESTUS1", "WPULEUS3", "NW2_EPG0_SWO_R48_BCF"])
def test_a_revision_changes_one_past_week_from_its_release_on(series_id):
    event = next(e for e in revisions(SEED, series_id) if e.period.year == 2021)
    released = base_values(SEED, series_id).loc[event.released_with, "released_at"].to_pydatetime()
    before = published(SEED, series_id, released - timedelta(seconds=1))
    after = published(SEED, series_id, released)
    assert event.period < event.released_with and after.index[-1] == event.released_with
    common = before.index
    assert set(common[after.loc[common] != before]) == {event.period}
    rounding = 0.5 * 10 ** -WIRE[series_id].decimals + 1e-9
    assert after.loc[event.period] == pytest.approx(before.loc[event.period] + event.delta, abs=rounding)
    assert revisions(SEED, series_id) == revisions(SEED, series_id)


def test_crude_stock_changes_are_the_worlds():
    """The planted eia_inventory_surprise_wti effect is measured on these changes: rounding aside, they are kept."""
    world = world_for(SEED).petroleum["crude_stocks"]
    served = base_values(SEED, "WCESTUS1")["value"]
    weeks = [ts.date() for ts in world.index]
    assert np.abs(served.loc[weeks].to_numpy() - world.to_numpy()).max() <= 0.5
    world_changes = world.diff().dropna()
    served_changes = served.diff().loc[[ts.date() for ts in world_changes.index]]
    assert np.abs(served_changes.to_numpy() - world_changes.to_numpy()).max() <= 1.0
    # weeks whose Friday is an exchange holiday are still published, with the previous level
    good_friday = date(2024, 3, 29)
    assert good_friday not in weeks and served.loc[good_friday] == served.loc[date(2024, 3, 22)]


def test_download_csv_is_eias_format_and_parses_back(tmp_path):
    body = download_csv(SEED, "NW2_EPG0_SWO_R48_BCF", _at(AS_OF)).decode()
    lines = body.split("\n")
    assert not body.endswith("\n")
    assert lines[0] == "Weekly Working Gas in Underground Storage"
    assert lines[4:7] == [
        "Series Link,https://www.eia.gov/dnav/ng/hist/nw2_epg0_swo_r48_bcfw.htm",
        "Series Key,NW2_EPG0_SWO_R48_BCF.W",
        "Week of,Lower 48 States Natural Gas Working Underground Storage BCF",
    ]
    assert lines[7].startswith("06/21/2024,") and "06/7/2024," in body  # newest first, day not zero-padded
    files = write_files(tmp_path, SEED, AS_OF)
    assert len(files) == len(WIRE)
    for path in files:
        data = path.read_bytes()
        parse = parse_weekly_series if b"\nWeek of," in data else parse_daily_prices
        table = parse(RawPayload("eia", path.stem, str(path), data, datetime.now(UTC))).table.to_pandas()
        series_id = table.series_id.iloc[0]
        expected = published(SEED, series_id, _at(AS_OF))
        assert table.set_index("period")["value"].sort_index().to_dict() == pytest.approx(expected.to_dict())
        assert set(table.units) == {SERIES[series_id].units}


def test_rounding_is_eias():
    values = published(SEED, "WPULEUS3", _at(AS_OF))
    assert (values * 10 == (values * 10).round()).all()
    futures = published(SEED, "RNGC1", _at(AS_OF))
    assert (pd.Series(futures) * 1000 - (pd.Series(futures) * 1000).round()).abs().max() < 1e-6
