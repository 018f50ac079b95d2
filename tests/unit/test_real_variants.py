"""Layout variants the real publishers ship beyond the ones in ../shared/data/real, one cheap test per class, each
from a synthetic file the simulated publisher writes in that layout (never from a real file)."""

from datetime import UTC, date, datetime

import pyarrow.compute as pc
import pytest

from resources.lake.bronze import RawPayload
from resources.simulated import cboe, eia, fred
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


def test_eia_xls_sheet_saved_as_csv_with_a_sourcekey_row_loads_like_the_download_csv(tmp_path):
    """`Back to Contents`, `Sourcekey,<ID>`, `Date,<name> (<units>)`, `Mon DD, YYYY` dates, oldest first; the cadence
    comes from the known series (weekly stocks, daily prices), in files mode too."""
    from resources.sources.eia.client import file_cadence, payloads_from_files
    from resources.sources.eia.parser import parse_daily_prices, parse_weekly_series

    at = datetime(2004, 3, 1, 23, tzinfo=UTC)
    for series_id, parse, cadence in (
        ("WCESTUS1", parse_weekly_series, "weekly"),
        ("RNGWHHD", parse_daily_prices, "daily"),
    ):
        (tmp_path / f"{series_id}.csv").write_bytes(eia.xls_sheet_csv(SEED, series_id, at))
        [payload] = payloads_from_files([tmp_path / f"{series_id}.csv"])
        assert file_cadence(payload) == cadence
        sheet = parse(payload)
        download = parse(_payload("eia", series_id, eia.download_csv(SEED, series_id, at), "download.csv"))
        assert not sheet.rejections and sheet.table.num_rows == download.table.num_rows > 100
        key = ["series_id", "period"]
        assert sheet.table.sort_by([(k, "ascending") for k in key]) == download.table.sort_by(
            [(k, "ascending") for k in key]
        )


def test_an_eia_sheet_of_an_unknown_series_is_refused_naming_what_is_missing():
    from resources.errors import SchemaMismatchError
    from resources.sources.eia.parser import parse_weekly_series

    data = eia.xls_sheet_csv(SEED, "WCESTUS1", datetime(2001, 3, 1, tzinfo=UTC)).replace(b"WCESTUS1", b"WXYZ99")
    with pytest.raises(SchemaMismatchError, match="'Date' column does not say the cadence, and WXYZ99") as err:
        parse_weekly_series(_payload("eia", "WXYZ99", data, "sheet.csv"))
    assert err.value.row == 3 and err.value.location == "/d/sheet.csv"


def test_fred_text_download_loads_like_the_csv_download_with_its_own_line_numbers(tmp_path):
    """`<ID>.txt`: `Title:`... `Notes:` lines, `DATE  VALUE`, space-aligned rows, `.` for missing; in files mode
    too. A bad row is named by its line in the text file; a cut last value is still a truncated payload."""
    from resources.errors import TruncatedPayloadError
    from resources.sources.fred.client import payloads_from_files
    from resources.sources.fred.parser import parse_fred_csv

    text = fred.text_download(SEED, "DGS10", AS_OF)
    (tmp_path / "DGS10.txt").write_bytes(text)
    [payload] = payloads_from_files([tmp_path])
    loaded = parse_fred_csv(payload)
    csv_download = parse_fred_csv(_payload("fred", "DGS10", fred.download_csv(SEED, "DGS10", AS_OF), "DGS10.csv"))
    assert not loaded.rejections and loaded.table == csv_download.table and loaded.table.num_rows > 1000
    assert loaded.table["value"].null_count > 0  # holidays: `.`

    lines = text.split(b"\r\n")
    bad = next(i for i, line in enumerate(lines) if line.startswith(b"2001-01-02"))
    lines[bad] = lines[bad].replace(b"2001-01-02", b"2001-13-02")
    spoiled = parse_fred_csv(_payload("fred", "DGS10", b"\r\n".join(lines), "DGS10.txt"))
    [rejection] = spoiled.rejections
    assert rejection.row_number == bad + 1 and "2001-13-02" in rejection.reason

    with pytest.raises(TruncatedPayloadError) as err:  # "5.76\r\n" cut to "5."
        parse_fred_csv(_payload("fred", "DGS10", text[:-4], "DGS10.txt"))
    assert err.value.row == len(text.split(b"\r\n")) - 1


def test_fred_graph_download_of_several_series_loads_each_series():
    """`fredgraph.csv`: one value column per series; each series' values equal its own download's (a file named
    after one series must still hold only that one: test_fred_parser's extra-column case)."""
    from resources.sources.fred.parser import parse_fred_csv

    graph = parse_fred_csv(_payload("fred", "FREDGRAPH", fred.graph_csv(SEED, ["DGS10", "DEXUSEU"], AS_OF), "g.csv"))
    assert not graph.rejections

    def known(table) -> set[tuple]:
        rows = table.select(["series_id", "observation_date", "value"]).to_pylist()
        return {tuple(r.values()) for r in rows if r["value"] is not None}

    singles = set()
    for series_id in ("DGS10", "DEXUSEU"):
        single = fred.download_csv(SEED, series_id, AS_OF)
        singles |= known(parse_fred_csv(_payload("fred", series_id, single, f"{series_id}.csv")).table)
    assert known(graph.table) == singles and len(singles) > 2000


def test_coin_metrics_columns_added_over_time_load_and_blank_cells_stay_absent():
    """Community CSVs gain metric columns over the years; a new column's values load under its own name, and
    its blank cells (days before the metric existed) add no rows."""
    from resources.simulated import coinmetrics
    from resources.sources.coinmetrics.parser import parse_community_csv

    lines = coinmetrics.community_csv(SEED, "btc", date(2012, 3, 1)).decode().splitlines()
    lines[0] += ",FeeTotNtv"
    lines[1:] = [line + ("," if i < 100 else ",0.25") for i, line in enumerate(lines[1:])]  # new since day 100
    result = parse_community_csv(_payload("coinmetrics", "btc", ("\n".join(lines) + "\n").encode(), "btc.csv"))
    assert not result.rejections
    fees = result.table.filter(pc.equal(result.table["metric"], "FeeTotNtv"))
    assert fees.num_rows == len(lines) - 1 - 100 and set(fees["value"].to_pylist()) == {0.25}


def test_cot_spreadsheet_downloads_are_refused_with_a_typed_error_naming_the_file():
    """CFTC also ships the annual reports as xls (alone or zipped): not read here, refused as not tabular text."""
    import io
    import zipfile

    from resources.errors import NotTabularError
    from resources.sources.cot.parser import parse_cot_payload

    xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 8  # an OLE2 compound file, as .xls are
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("annualof.xls", xls)
    for name, data in (("annualof.xls", xls), ("dea_com_xls_2023.zip", archive.getvalue())):
        with pytest.raises(NotTabularError) as err:
            parse_cot_payload(_payload("cot", "legacy_combined", data, name))
        assert err.value.source == "cot" and err.value.location == f"/d/{name}"
