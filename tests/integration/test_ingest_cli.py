"""What `nexus ingest` prints: one error line per failed payload with its location kept (rich markup escaped),
the quarantined rows of a payload that still loaded, and the quarantine policy once."""

from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from pipelines.cli import app
from resources.simulated import fred


def test_error_lines_keep_their_location_and_say_it_once(tmp_path: Path):
    empty = tmp_path / "DGS10.csv"
    empty.write_bytes(b"")
    lines = fred.download_csv(7, "DGS2", date(2016, 6, 30)).split(b"\n")
    lines[50] = lines[50].split(b",")[0] + b",oops"
    spoiled = tmp_path / "DGS2.csv"
    spoiled.write_bytes(b"\n".join(lines))

    result = CliRunner().invoke(app, ["ingest", "fred", "--files", str(empty), "--files", str(spoiled)])
    assert result.exit_code == 2
    [line] = [x for x in result.output.splitlines() if "NotTabularError" in x]
    assert f"empty payload [source=fred, dataset=DGS10, file={empty}]" in line
    assert line.count("empty payload") == 1

    ok = CliRunner().invoke(app, ["ingest", "fred", "--files", str(spoiled)])
    assert ok.exit_code == 0, ok.output
    assert "quarantined 1," in ok.output and "first on line 51: non-numeric value 'oops'" in ok.output
    assert f"[file={spoiled}]" in ok.output.replace("\n", "")
    assert ok.output.count("Quarantine policy:") == 1 and "1.00%" in ok.output
