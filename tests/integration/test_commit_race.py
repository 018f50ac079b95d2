"""Two ingests racing on one table both end in success or in a typed conflict, never in a traceback."""

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from resources.lake.delta import read_table
from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from resources.simulated import eia
from resources.sources.eia.spec import WEEKLY_SERIES

pytestmark = pytest.mark.slow

SCRIPT = """
import sys
from pathlib import Path
from resources.errors import CommitConflictError
from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from resources.sources.registry import ingest_source
s = get_settings()
try:
    ingest_source("eia", LakeStorage.from_settings(s), s, run_id=sys.argv[1], start=None, end=None,
                  files=[Path(p) for p in sys.argv[2:]])
except CommitConflictError as exc:
    print("conflict", exc, flush=True)
    sys.exit(3)
print("done", flush=True)
"""


def _files(folder: Path, as_of: datetime) -> list[str]:
    folder.mkdir(parents=True)
    paths = []
    for series in ("WCESTUS1", "WCRFPUS2"):
        path = folder / eia.file_name(series)
        path.write_bytes(eia.download_csv(7, series, as_of))
        paths.append(str(path))
    return paths


def _race(lake: str, jobs: list[list[str]]) -> list[subprocess.CompletedProcess]:
    env = dict(os.environ, NEXUS_LAKE_URI=lake)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, f"racer-{i}", *files],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, files in enumerate(jobs)
    ]
    return [subprocess.CompletedProcess(p.args, p.wait(timeout=600), *p.communicate()) for p in procs]


def _check_race(tmp_path: Path, lake: str) -> None:
    early = _files(tmp_path / "early", datetime(2016, 6, 30, tzinfo=UTC))
    late = _files(tmp_path / "late", datetime(2017, 6, 30, tzinfo=UTC))
    results = _race(lake, [early, late])
    for result in results:
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        assert result.returncode == 0 or (result.returncode == 3 and "another writer" in result.stdout)
    assert any(r.returncode == 0 for r in results)

    storage = LakeStorage.from_settings(get_settings().model_copy(update={"lake_uri": lake}))
    rows = read_table(storage, WEEKLY_SERIES).to_pandas()
    assert not rows.duplicated(["series_id", "period", "version"]).any()
    versions = rows.groupby(["series_id", "period"])["version"].agg(["min", "max", "count"])
    assert (versions["min"] == 1).all() and (versions["max"] == versions["count"]).all()  # 1..n, no gaps
    assert rows.period.max() >= pd.Timestamp(date(2017, 6, 23)).date()


def test_two_ingests_racing_on_one_local_table(tmp_path: Path):
    _check_race(tmp_path, str(tmp_path / "lake"))


@pytest.mark.s3
def test_two_ingests_racing_on_one_s3_table(tmp_path: Path, moto_s3: str):
    _check_race(tmp_path, "s3://nexus-lake/race")
