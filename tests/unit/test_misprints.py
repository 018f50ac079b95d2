"""The simulated publisher's misprints: a wrong value shown from one as-of day until the day it is corrected."""

from datetime import date

from resources.simulated.cboe import history, history_csv
from resources.simulated.misprints import Misprint, load_misprints, write_misprints

WED, THU, FRI = date(2024, 6, 26), date(2024, 6, 27), date(2024, 6, 28)


def _close_line(csv: bytes, day: date) -> str:
    prefix = day.strftime("%m/%d/%Y")
    [line] = [x for x in csv.decode().splitlines() if x.startswith(prefix)]
    return line


def test_a_misprint_shows_until_the_publisher_corrects_it(tmp_path):
    path = tmp_path / "misprints.json"
    write_misprints(
        path,
        [
            Misprint(
                source="cboe", series="VIX", observed=WED, column="CLOSE", value=500.0, published=WED, corrected=FRI
            )
        ],
    )
    misprints = load_misprints(path)
    true_close = float(history(7, "VIX", WED).loc[str(WED), "CLOSE"])
    assert _close_line(history_csv(7, "VIX", WED, misprints), WED).endswith(",500.000000")
    assert _close_line(history_csv(7, "VIX", THU, misprints), WED).endswith(",500.000000")
    assert _close_line(history_csv(7, "VIX", FRI, misprints), WED).endswith(f",{true_close:.6f}")
    assert _close_line(history_csv(7, "VIX3M", WED, misprints), WED) == _close_line(history_csv(7, "VIX3M", WED), WED)


def test_without_a_file_there_are_no_misprints(tmp_path):
    assert load_misprints(None) == [] and load_misprints(tmp_path / "absent.json") == []
