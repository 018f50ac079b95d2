"""The simulated FRED publisher: vintages, prefix stability, FRED's wire format and errors, CSV downloads."""

import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from resources.lake.bronze import RawPayload
from resources.simulated.fred import SERIES, download_csv, latest_values, vintage_rows, write_files
from resources.simulated.publisher import Request, SimulatedPublisher
from resources.simulated.server import serve_publisher
from resources.simulated.world import world_for
from resources.sources.fred.api_parser import parse_observations
from resources.sources.fred.calendar import first_release
from resources.sources.fred.parser import parse_fred_csv, series_from_name
from resources.sources.fred.spec import SIMULATED_API_KEY

SEED = 7
AS_OF = date(2024, 1, 31)


def _get(path: str, as_of: date = AS_OF, **params: str):
    query = {"api_key": [SIMULATED_API_KEY], **{k: [v] for k, v in params.items()}}
    return SimulatedPublisher(SEED, as_of).handle(Request("GET", path, query))


def _vintages(series_id: str, as_of: date) -> pd.DataFrame:
    rows = vintage_rows(SEED, series_id, as_of)
    return rows.assign(date=rows["date"].dt.date, realtime_start=rows["realtime_start"].dt.date)


def test_each_observation_first_appears_on_its_first_release_date():
    for series_id in ("SP500", "DGS10", "DEXUSEU"):
        rows = _vintages(series_id, AS_OF)
        firsts = rows.groupby("date")["realtime_start"].min()
        assert all(start == first_release(series_id, day) for day, start in firsts.loc[date(2023, 1, 1) :].items())
    dgs10 = _vintages("DGS10", AS_OF).set_index("date")
    assert dgs10.loc[date(2024, 1, 12), "realtime_start"] == date(2024, 1, 16)  # Friday -> Tuesday after MLK day
    fx = _vintages("DEXUSEU", AS_OF).set_index("date")
    assert fx.loc[date(2024, 1, 17), "realtime_start"] == date(2024, 1, 22)  # H.10: the next Monday


def test_revisions_are_later_vintages_of_a_few_series():
    counts = {s: _vintages(s, date(2025, 12, 31)).duplicated("date").sum() for s in SERIES}
    assert counts["DTWEXBGS"] > 0.2 * len(_vintages("DTWEXBGS", date(2025, 12, 31)).drop_duplicates("date"))
    assert 10 <= counts["SP500"] <= 150  # about three corrections a year since 2000
    assert all(n == 0 for s, n in counts.items() if s not in ("DTWEXBGS", "SP500"))
    broad = _vintages("DTWEXBGS", date(2025, 12, 31))
    revised = broad[broad.duplicated("date", keep=False)].groupby("date")["realtime_start"].agg(["min", "max"])
    lag = (pd.to_datetime(revised["max"]) - pd.to_datetime(revised["min"])).dt.days
    assert lag.between(6, 10).all()  # the next weekly H.10 release


def test_history_is_prefix_stable_and_nothing_starts_after_the_as_of_date():
    early, late = date(2023, 6, 30), date(2024, 6, 28)
    for series_id in ("SP500", "DTWEXBGS", "T10Y2Y"):
        before, after = _vintages(series_id, early), _vintages(series_id, late)
        assert before["realtime_start"].max() <= early and after["realtime_start"].max() <= late
        known = after[after["realtime_start"] <= early]
        assert (
            known[["date", "realtime_start", "text"]]
            .reset_index(drop=True)
            .equals(before[["date", "realtime_start", "text"]].reset_index(drop=True))
        )
        current = before.groupby("date").tail(1)
        assert (current["realtime_end"] == np.datetime64("9999-12-31")).all()


def test_values_come_from_the_world_rounded_as_fred_prints_them():
    daily = world_for(SEED).daily
    first = _vintages("SP500", AS_OF).drop_duplicates("date").set_index("date")
    assert first.loc[date(2024, 1, 30), "text"] == f"{daily.loc['2024-01-30', 'SPX']:.2f}"
    assert first.loc[date(2024, 1, 15), "text"] == "."  # MLK day: market closed
    latest = {s: latest_values(SEED, s, AS_OF).set_index("date")["value"] for s in ("DGS10", "DGS2", "T10Y2Y")}
    day = pd.Timestamp("2024-01-29")
    assert latest["T10Y2Y"][day] == pytest.approx(latest["DGS10"][day] - latest["DGS2"][day], abs=1e-9)
    columbus = pd.Timestamp("2023-10-09")  # bond market and the Fed closed, stock market open
    assert np.isnan(latest_values(SEED, "DGS10", AS_OF).set_index("date").loc[columbus, "value"])
    assert not np.isnan(latest_values(SEED, "SP500", AS_OF).set_index("date").loc[columbus, "value"])
    fx = _vintages("DEXUSEU", AS_OF)
    assert fx["text"].str.fullmatch(r"\d+\.\d{4}|\.").all()


def test_xml_and_json_pages_page_through_the_same_rows():
    args = {
        "series_id": "DTWEXBGS",
        "realtime_start": "1776-07-04",
        "realtime_end": "9999-12-31",
        "observation_start": "2023-06-01",
    }
    whole = _get("/fred/series/observations", **args)
    assert whole.status == 200 and whole.content_type.startswith("text/xml")
    root = ET.fromstring(whole.body)
    count = int(root.get("count"))
    assert count == len(root) > 100 and root.get("limit") == "100000"
    pages = []
    for offset in range(0, count, 40):
        page = _get("/fred/series/observations", file_type="json", limit="40", offset=str(offset), **args)
        assert page.content_type.startswith("application/json")
        body = json.loads(page.body)
        assert (body["count"], body["offset"], body["limit"], body["output_type"]) == (count, offset, 40, 1)
        pages += body["observations"]
    assert pages == [dict(child.attrib) for child in root]
    desc = json.loads(_get("/fred/series/observations", file_type="json", sort_order="desc", **args).body)
    dates = [o["date"] for o in desc["observations"]]
    assert dates == sorted(dates, reverse=True)


def test_without_a_real_time_period_fred_answers_as_of_today():
    body = json.loads(_get("/fred/series/observations", series_id="DGS10", file_type="json").body)
    assert body["realtime_start"] == body["realtime_end"] == "2024-01-31"
    assert {o["realtime_start"] for o in body["observations"]} == {"2024-01-31"}
    assert body["observations"][-1]["date"] == "2024-01-30"  # released the next business day


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"series_id": "NOPE"}, "The series does not exist."),
        ({"series_id": "DGS10", "api_key": ""}, "Variable api_key is not set."),
        ({"series_id": "DGS10", "api_key": "Not-A-Key"}, "not a 32 character alpha-numeric lower-case string"),
        ({}, "Variable series_id is not set."),
        ({"series_id": "DGS10", "limit": "0"}, "limit"),
        ({"series_id": "DGS10", "realtime_start": "2024-02-01", "realtime_end": "2024-01-01"}, "realtime_start"),
        ({"series_id": "DGS10", "observation_start": "01/02/2024"}, "observation_start"),
        ({"series_id": "DGS10", "sort_order": "up"}, "sort_order"),
    ],
)
@pytest.mark.parametrize("file_type", ["xml", "json"])
def test_errors_are_fred_400s_in_the_requested_format(params, message, file_type):
    query = {"api_key": [SIMULATED_API_KEY], "file_type": [file_type], **{k: [v] for k, v in params.items()}}
    for path in ("/fred/series/observations", "/fred/series"):
        if path == "/fred/series" and set(params) & {"limit", "observation_start", "sort_order"}:
            continue
        response = SimulatedPublisher(SEED, AS_OF).handle(Request("GET", path, query))
        assert response.status == 400
        if file_type == "json":
            body = json.loads(response.body)
            assert body["error_code"] == 400 and message in body["error_message"]
        else:
            root = ET.fromstring(response.body)
            assert root.tag == "error" and root.get("code") == "400" and message in root.get("message")


def test_a_series_that_has_not_started_does_not_exist_yet():
    assert _get("/fred/series", as_of=date(2005, 12, 30), series_id="DTWEXBGS").status == 400
    assert _get("/fred/series", as_of=date(2006, 1, 10), series_id="DTWEXBGS").status == 200


def test_series_metadata():
    root = ET.fromstring(_get("/fred/series", series_id="SP500").body)
    series = root.find("series")
    assert root.tag == "seriess" and series is not None
    assert series.get("title") == "S&P 500" and series.get("frequency_short") == "D"
    assert series.get("observation_end") == "2024-01-30"
    assert series.get("last_updated") == "2024-01-31 08:05:11-06"


def test_downloads_in_both_layouts_read_back_as_the_latest_values(tmp_path):
    paths = write_files(tmp_path, SEED, AS_OF)
    assert sorted(p.name for p in paths) == sorted(
        [f"{s}.csv" for s in SERIES] + [f"{s}_old_layout.csv" for s in SERIES]
    )
    assert download_csv(SEED, "DGS10", AS_OF).startswith(b"observation_date,DGS10\n")
    assert download_csv(SEED, "DGS10", AS_OF, layout="old").startswith(b"DATE,DGS10\n")
    expected = latest_values(SEED, "DTWEXBGS", AS_OF)
    for name in ("DTWEXBGS.csv", "DTWEXBGS_old_layout.csv"):
        path = tmp_path / name
        payload = RawPayload("fred", series_from_name(name), str(path), path.read_bytes(), datetime.now(UTC))
        table = parse_fred_csv(payload).table.to_pandas()
        assert len(table) == len(expected)
        assert np.allclose(table["value"].to_numpy(), expected["value"].to_numpy(), equal_nan=True)


def test_fredapi_itself_reads_the_simulated_api(monkeypatch):
    """The wire format is what fredapi (over urllib, no Nexus code involved) understands."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    from fredapi import Fred

    with serve_publisher(SimulatedPublisher(SEED, AS_OF)) as url:
        fred = Fred(api_key=SIMULATED_API_KEY)
        fred.root_url = f"{url}/fred"
        series = fred.get_series("SP500", observation_start="2024-01-02", observation_end="2024-01-31")
        info = fred.get_series_info("SP500")
        releases = fred.get_series_all_releases("DTWEXBGS")
        with pytest.raises(ValueError, match="The series does not exist"):
            fred.get_series("NOPE")
    expected = latest_values(SEED, "SP500", AS_OF).set_index("date")["value"].loc["2024-01-02":]
    assert np.allclose(series.to_numpy(dtype=float), expected.to_numpy(), equal_nan=True)
    assert info["title"] == "S&P 500"
    assert len(releases) == len(vintage_rows(SEED, "DTWEXBGS", AS_OF))


def test_an_observations_page_parses_into_every_visible_vintage():
    response = _get(
        "/fred/series/observations",
        series_id="SP500",
        realtime_start="1776-07-04",
        realtime_end="9999-12-31",
        observation_start="2020-01-01",
    )
    payload = RawPayload("fred", "SP500", "http://x/fred/series/observations", response.body, datetime.now(UTC))
    table = parse_observations(payload).table.to_pandas()
    expected = _vintages("SP500", AS_OF)
    assert len(table) == (expected["date"] >= date(2020, 1, 1)).sum()
