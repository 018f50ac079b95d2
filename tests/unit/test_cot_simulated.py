"""The simulated CFTC publisher: positions consistent with the world, Socrata's query language, the annual files."""

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import httpx
import numpy as np
import pandas as pd
import pytest

from resources.simulated import cot as sim
from resources.simulated.publisher import Request, SimulatedPublisher
from resources.simulated.world import COT_Z_THRESHOLD, world_for
from resources.sources.cot.layouts import LAYOUTS
from resources.sources.cot.parser import parse_cot_payload
from tests.unit.test_cot_parser import _payload

SEED = 7
AS_OF = date(2024, 6, 28)
REAL_HEADERS = {
    "legacy": "legacy_futures_only/annual_2024_to_0123.txt",
    "tff": "tff_futures_only/FinFut_2024.txt",
    "disaggregated": "disaggregated_futures_only/f_year_2023_to_0221.txt",
}


def _get(path: str, as_of: date = AS_OF, **params: str) -> tuple[int, object]:
    app = SimulatedPublisher(SEED, as_of)
    response = app.handle(Request("GET", path, {k: [v] for k, v in params.items()}))
    return response.status, json.loads(response.body)


@pytest.mark.parametrize("report", ["legacy", "tff", "disaggregated"])
def test_categories_add_up_and_the_speculators_hold_the_worlds_net_share(report):
    layout = LAYOUTS[report]
    frame = sim.positions(SEED, report)
    assert (frame[list(layout.position_columns)] >= 0).all().all()
    for side in (layout.long_columns, layout.short_columns):
        assert (frame[[*side, *layout.spread_columns]].sum(axis=1) == frame.open_interest).all()
    world = world_for(SEED).positioning.assign(report_date=lambda f: f.report_date.dt.date)
    merged = frame.merge(world, on=["report_date", "code"], suffixes=("", "_world"))
    assert len(merged) == len(frame)
    spec = layout.speculator
    net = (merged[f"{spec}_long"] - merged[f"{spec}_short"]) / merged.open_interest
    assert np.abs(net - merged.spec_net_share).max() < 1e-4  # one contract of rounding


def test_the_planted_speculator_effect_is_recoverable_from_the_published_positions():
    """The world's 52-week z-score of the speculators' net share, recomputed from TFF positions alone."""
    frame = sim.positions(SEED, "tff").sort_values("report_date")
    emini = frame[frame.code == "13874A"].copy()
    share = (emini.leveraged_funds_long - emini.leveraged_funds_short) / emini.open_interest
    window = share.rolling(52)
    emini["z"] = (share - window.mean()) / window.std(ddof=0)
    world = world_for(SEED).positioning
    world = world[world.code == "13874A"].assign(report_date=lambda f: f.report_date.dt.date)
    merged = emini.merge(world, on=["report_date", "code"]).dropna(subset=["z", "spec_z52"])
    merged = merged[merged.report_date >= date(2007, 6, 1)]  # TFF starts in June 2006: 52 weeks later
    assert np.abs(merged.z - merged.spec_z52).max() < 0.02
    assert (merged.z.abs() > COT_Z_THRESHOLD).sum() > 20  # extremes exist to trade on


def test_markets_are_listed_when_cftc_listed_them_and_renamed_in_2022():
    tff = sim.positions(SEED, "tff")
    assert tff.report_date.min() == date(2006, 6, 13)
    assert tff[tff.code == "133741"].report_date.min() == date(2018, 4, 10)
    emini = tff[tff.code == "13874A"].set_index("report_date")["name"]
    assert emini[date(2022, 2, 1)] == "E-MINI S&P 500 STOCK INDEX - CHICAGO MERCANTILE EXCHANGE"
    assert emini[date(2022, 2, 8)] == "E-MINI S&P 500 - CHICAGO MERCANTILE EXCHANGE"
    assert sim.positions(SEED, "legacy").report_date.min() == date(2000, 1, 4)


def test_a_report_is_public_from_its_release_and_revisions_from_theirs():
    event = next(e for e in sim.revisions(SEED) if e.report_date.year == 2023 and e.code in sim.codes_for("tff"))
    before = sim.published(SEED, "tff", True, sim.as_of_time(SEED, event.effective - timedelta(days=1)))
    after = sim.published(SEED, "tff", True, sim.as_of_time(SEED, event.effective))
    pick = (before.code == event.code) & (before.report_date == event.report_date)
    old, new = before[pick].iloc[0], after[(after.code == event.code) & (after.report_date == event.report_date)]
    assert old.open_interest != new.open_interest.iloc[0]
    # apart from revisions, an earlier state is exactly a prefix of a later one
    common = after.merge(before, on=["code", "report_date"], suffixes=("", "_b"))
    changed = common[common.open_interest != common.open_interest_b]
    assert set(zip(changed.code, changed.report_date, strict=True)) == {(event.code, event.report_date)}


def test_a_holiday_week_is_published_on_the_delayed_day():
    report_day = date(2024, 6, 18)  # Juneteenth on Wednesday 19 June: released Monday 24 June
    friday = sim.published(SEED, "tff", True, sim.as_of_time(SEED, date(2024, 6, 21)))
    monday = sim.published(SEED, "tff", True, sim.as_of_time(SEED, date(2024, 6, 24)))
    assert report_day not in set(friday.report_date) and report_day in set(monday.report_date)


def test_soql_where_order_and_paging():
    where = "cftc_contract_market_code in('13874A','099741') AND report_date_as_yyyy_mm_dd >= '2024-01-01'"
    order = "report_date_as_yyyy_mm_dd,cftc_contract_market_code"
    status, first = _get("/resource/gpe5-46if.json", **{"$where": where, "$order": order, "$limit": "3"})
    status2, second = _get(
        "/resource/gpe5-46if.json", **{"$where": where, "$order": order, "$limit": "3", "$offset": "3"}
    )
    assert status == status2 == 200
    keys = [(r["report_date_as_yyyy_mm_dd"], r["cftc_contract_market_code"]) for r in first + second]
    assert keys == sorted(keys) and len(set(keys)) == 6
    assert keys[0] == ("2024-01-02T00:00:00.000", "099741")
    assert all(isinstance(v, str) for r in first for v in r.values())  # Socrata sends numbers as strings
    newest_first = "report_date_as_yyyy_mm_dd DESC, cftc_contract_market_code"
    _, last = _get("/resource/gpe5-46if.json", **{"$where": where, "$order": newest_first, "$limit": "1"})
    assert last[0]["report_date_as_yyyy_mm_dd"] == "2024-06-25T00:00:00.000"  # released Friday 28 June


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"$where": "open_interest_al > 5"}, "query.soql.no-such-column"),
        ({"$where": "cftc_contract_market_code in('13874A'"}, "query.compiler.malformed"),
        ({"$where": "report_date_as_yyyy_mm_dd > 5"}, "query.soql.type-mismatch"),
        ({"$order": "nope"}, "query.soql.no-such-column"),
        ({"$limit": "ten"}, "query.compiler.malformed"),
        ({"$bogus": "1"}, "query.compiler.malformed"),
    ],
)
def test_bad_queries_get_socratas_error_object(params, code):
    status, body = _get("/resource/72hh-3qpy.json", **params)
    assert status == 400
    assert body["code"] == code and body["error"] is True and body["message"]


def test_unknown_datasets_are_not_found():
    status, body = _get("/resource/abcd-1234.json")
    assert status == 404 and body["error"] is True


def test_select_and_simple_filters():
    status, rows = _get("/resource/6dca-aqww.json", cftc_contract_market_code="088691", **{"$select": "id"})
    assert status == 200 and rows and all(set(r) == {"id"} and r["id"].endswith("088691F") for r in rows)


def test_combined_reports_have_more_open_interest():
    futures = sim.positions(SEED, "disaggregated", True).set_index(["code", "report_date"]).open_interest
    combined = sim.positions(SEED, "disaggregated", False).set_index(["code", "report_date"]).open_interest
    assert (combined > futures).all()


@pytest.mark.real_data
@pytest.mark.parametrize("report", ["legacy", "tff", "disaggregated"])
def test_annual_file_headers_are_cftcs_exactly(real_data, report):
    with (real_data / "cot" / REAL_HEADERS[report]).open(newline="") as handle:
        real = next(csv.reader(handle))
    assert [name for name, _ in sim.file_layout(report)] == real


@pytest.mark.parametrize("report", ["legacy", "tff", "disaggregated"])
def test_annual_files_parse_back_to_the_published_positions(report):
    text = sim.annual_text(SEED, report, 2023, AS_OF)
    rows = list(csv.reader(io.StringIO(text.decode())))
    assert {len(r) for r in rows} == {len(sim.file_layout(report))}
    assert text.count(b"\r\n") == len(rows)
    parsed = parse_cot_payload(_payload(sim.annual_zip(SEED, report, 2023, AS_OF), f"/d/{report}.zip")).table
    published = sim.published(SEED, report, True, sim.as_of_time(SEED, AS_OF))
    published = published[pd.to_datetime(published.report_date).dt.year == 2023]
    assert parsed.num_rows == len(published)
    frame = parsed.to_pandas().set_index(["cftc_contract_market_code", "report_date"]).sort_index()
    expected = published.set_index(["code", "report_date"]).sort_index()
    for column in LAYOUTS[report].position_columns:
        assert (frame[column].to_numpy() == expected[column].to_numpy()).all()


def test_write_files_is_deterministic_and_served_over_http(tmp_path):
    first = sim.write_files(tmp_path / "a", SEED, AS_OF, reports=("tff",), years=(2023, 2024))
    second = sim.write_files(tmp_path / "b", SEED, AS_OF, reports=("tff",), years=(2023, 2024))
    assert [p.name for p in first] == ["fut_fin_txt_2023.zip", "fut_fin_txt_2024.zip"]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    app = SimulatedPublisher(SEED, AS_OF)
    response = app.handle(Request("GET", "/files/dea/history/fut_fin_txt_2024.zip", {}))
    assert response.status == 200 and response.body == first[1].read_bytes()
    assert app.handle(Request("GET", "/files/dea/history/fut_fin_txt_2025.zip", {})).status == 404


def test_the_server_speaks_http(tmp_path):
    from resources.simulated.server import serve_publisher

    with serve_publisher(SimulatedPublisher(SEED, AS_OF)) as url:
        response = httpx.get(f"{url}/resource/gpe5-46if.json", params={"$limit": 2, "$$app_token": "x"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "open_interest_all" in json.loads(response.headers["X-SODA2-Fields"])
    assert response.text.startswith('[{"id":') and "\n,{" in response.text


def test_scaled_files_hold_n_markets_per_report_with_valid_unique_codes(tmp_path):
    """The scale parameter: `markets` per report (replicas under new codes the parser accepts), the last `years`."""
    from resources.lake.bronze import RawPayload
    from resources.sources.cot.parser import parse_cot_payload

    paths = sim.write_scaled_files(tmp_path, SEED, AS_OF, markets=20, years=1, reports=("tff",))
    assert [p.name for p in paths] == [f"fut_fin_txt_{AS_OF.year}.zip"]
    data = paths[0].read_bytes()
    payload = RawPayload(source="cot", dataset="tff", location=str(paths[0]), data=data, fetched_at=datetime.now(UTC))
    result = parse_cot_payload(payload, expect="tff")
    assert not result.rejections
    codes = set(result.table["cftc_contract_market_code"].to_pylist())
    assert len(codes) == 20 and len({sim.scaled_code(c, k) for c in sim.MARKETS for k in range(100)}) == 1400
