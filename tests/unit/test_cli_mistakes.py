"""The CLI answers a user's mistake with one `error:` line and exit 2, and `nexus status` fits 100 columns."""

from datetime import date

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from resources.lake.delta import replace_where
from resources.lake.tables import TableSpec
from resources.settings import get_settings

NARROW = {"COLUMNS": "100"}

MISTAKES = {
    "start after end": (["run", "--start", "2024-02-01", "--end", "2024-01-01"], "--start 2024-02-01 is after --end"),
    "default start after end": (["run", "--end", "2015-01-01"], "the default start date 2016-01-01 is after --end"),
    "start before the calendar": (
        ["run", "--start", "1990-01-01", "--end", "1990-02-01"],
        "--start 1990-01-01 is before the calendar's first day, 2000-01-03",
    ),
    "impossible date": (["run", "--start", "2024-02-30"], "Invalid value for '--start'"),
    "not a date": (["feeds", "deliver", "--date", "yesterday"], "(expected YYYY-MM-DD)"),
    "unknown mode": (["run", "--mode", "paper"], "'paper' is not one of 'simulated', 'live', 'files'"),
    "files mode without files": (["run", "--mode", "files"], "set NEXUS_FILES_DIR"),
    "unknown source": (["ingest", "bloomberg"], "unknown source 'bloomberg'; choose from cot, fred"),
    "ingest dates reversed": (["ingest", "cot", "--start", "2024-05-01", "--end", "2024-01-01"], "is after --end"),
    "missing files": (["ingest", "cot", "--files", "/no/such/folder"], "'/no/such/folder' does not exist"),
    "unknown command": (["bogus"], "No such command 'bogus'"),
    "unknown option": (["status", "--bogus"], "No such option: --bogus"),
    "unknown client": (["feeds", "deliver", "--client", "nobody-here"], "unknown client 'nobody-here'"),
    "unknown sql format": (["sql", "-c", "select 1", "--format", "xml"], "'xml' is not one of"),
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_a_user_mistake_is_one_line_and_exit_2(case):
    args, expected = MISTAKES[case]
    result = CliRunner().invoke(app, args, env=NARROW)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and expected in lines[0], result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_the_calendar_error_names_no_variable_the_user_did_not_set(monkeypatch):
    result = CliRunner().invoke(app, ["run", "--start", "1990-01-01"], env=NARROW)
    assert result.exit_code == 2 and "NEXUS_" not in result.output
    monkeypatch.setenv("NEXUS_PARTITIONS_START", "2010-01-04")
    result = CliRunner().invoke(app, ["run", "--start", "2005-01-03"], env=NARROW)
    assert result.exit_code == 2 and "2010-01-04 (NEXUS_PARTITIONS_START)" in result.output


def test_invalid_settings_are_one_line_too(monkeypatch):
    monkeypatch.setenv("NEXUS_SEED", "not-a-number")
    result = CliRunner().invoke(app, ["status"], env=NARROW)
    assert result.exit_code == 2 and result.output.strip().startswith("error: invalid settings: seed:")
    assert len(result.output.strip().splitlines()) == 1


def _lake_with_wide_tables(storage) -> None:
    names = [f"measure_with_a_long_name_{i:02d}" for i in range(40)]
    for name in ("marts/fct_cot_positioning_daily_by_market_and_report_kind", "signals/daily"):
        spec = TableSpec(
            zone="gold",
            name=name,
            schema=pa.schema([pa.field("trade_date", pa.date32()), *[pa.field(n, pa.float64()) for n in names]]),
            keys=("trade_date",),
            date_column="trade_date",
        )
        rows = [{"trade_date": date(2031, 3, day)} | dict.fromkeys(names, 1.0) for day in (27, 28, 31)]
        replace_where(storage, spec, pa.Table.from_pylist(rows, schema=spec.schema))


def test_status_fits_100_columns_and_wide_shows_everything(storage):
    _lake_with_wide_tables(storage)
    narrow = CliRunner().invoke(app, ["status"], env=NARROW)
    assert narrow.exit_code == 0, narrow.output
    assert max(len(line) for line in narrow.output.splitlines()) <= 100
    assert "cols" in narrow.output and "2031-03-31" in narrow.output and "measure_with" not in narrow.output
    assert "fct_cot_positioning_daily" in narrow.output.replace("\n", "").replace("│", "").replace(" ", "")
    wide = CliRunner().invoke(app, ["status", "--wide"], env={"COLUMNS": "300"})
    assert wide.exit_code == 0 and "measure_with_a_long_name_39" in wide.output


def test_feeds_list_fits_100_columns_and_wide_shows_every_folder(storage, settings):
    from resources.feeds.clients import get_clients

    clients = get_clients(settings.clients_file).clients
    narrow = CliRunner().invoke(app, ["feeds", "list"], env=NARROW)
    assert narrow.exit_code == 0, narrow.output
    assert max(len(line) for line in narrow.output.splitlines()) <= 100
    assert "--wide" in narrow.output
    for client in clients:  # every client, dataset and instrument is still there, whole
        assert client.client_id in narrow.output and all(d in narrow.output for d in client.datasets)
        assert all(i in narrow.output for i in client.instruments)
    wide = CliRunner().invoke(app, ["feeds", "list", "--wide"], env={"COLUMNS": "300"})
    assert wide.exit_code == 0, wide.output
    from assets.feeds.runner import feeds_storage

    root = feeds_storage(get_settings()).root_uri
    assert all(client.folder(root) in wide.output for client in clients)
