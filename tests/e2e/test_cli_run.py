"""`nexus run` on the embedded default, as a user runs it, twice.

The first run starts when the session does (tests/e2e/early_runs.py: its own lake and Dagster home, niced); the
test checks what it built, then runs `nexus run` again itself on the same lake.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resources.lake.delta import content_hash, read_table
from resources.lake.storage import LakeStorage
from resources.settings import get_settings
from tests.e2e.early_runs import RANGE

pytestmark = pytest.mark.slow
NEXUS = str(Path(sys.executable).with_name("nexus"))
SILVER_TABLES = [
    "silver/cboe/index_closes",
    "silver/cot/legacy_positions",
    "silver/cot/tff_positions",
    "silver/cot/disaggregated_positions",
    "silver/fred/observations",
    "silver/fred/series",
    "silver/eia/weekly_series",
    "silver/eia/daily_prices",
    "silver/coinmetrics/asset_metrics",
]
REAL_FOLDERS = {"cot": "cot", "fred": "fred", "eia": "eia", "cboe": "cboe", "coinmetrics": "coinmetrics"}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_") or k == "NEXUS_REAL_DATA_DIR"}
    s = get_settings()
    env.update(
        NEXUS_LAKE_URI=s.lake_uri,
        NEXUS_FEEDS_URI=s.feeds_uri,
        NEXUS_DUCKDB_PATH=str(s.duckdb_path),
        NEXUS_PUBLISHED_DUCKDB_PATH=str(s.published_duckdb_path),
        NEXUS_DAGSTER_HOME=str(s.dagster_home),
        DAGSTER_HOME=str(s.dagster_home),
    )
    Path(s.dagster_home).mkdir(parents=True, exist_ok=True)
    return env


def _versions(storage: LakeStorage) -> dict[str, int]:
    """Every Delta table's current version: a re-run with nothing new must not commit anywhere."""
    from deltalake import DeltaTable

    return {
        f"{zone}/{storage.relative_name(uri, zone)}": DeltaTable(uri).version()
        for zone in ("bronze", "silver", "gold", "quarantine")
        for uri in storage.list_delta_tables(zone)
    }


def _latest_metadata(key: list[str], *, observed: bool = False) -> dict:
    """The latest materialization's metadata, or the latest observation's (a skipped persona window observes)."""
    from dagster import AssetKey, DagsterInstance

    with DagsterInstance.from_config(str(get_settings().dagster_home)) as instance:
        if observed:
            event = instance.fetch_observations(AssetKey(key), limit=1).records[0].asset_observation
        else:
            event = instance.get_latest_materialization_event(AssetKey(key)).asset_materialization
        return {k: getattr(v, "value", v) for k, v in event.metadata.items()}


def _jobs_run_since(started: float) -> list[str]:
    """The jobs of the Dagster runs created since `started` (seconds since the epoch)."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(get_settings().dagster_home)) as instance:
        return [r.job_name for r in instance.get_run_records() if r.create_timestamp.timestamp() >= started]


def _hashes(storage: LakeStorage) -> dict[str, str]:
    from resources.lake.catalog import list_tables

    return {f"{t.zone}/{t.name}": content_hash(read_table(storage, t.uri)) for t in list_tables(storage)}


START, END = RANGE[1], RANGE[3]  # 2019-07-01 to 2024-06-28: walk-forward models (3 years) plus a signal window
PERSONAS = ["hedging_desk", "institutional", "wealth_manager", "hedge_fund", "retail_trader", "casual_investor"]


def _status() -> dict[str, dict]:
    status = subprocess.run([NEXUS, "status", "--json"], env=_env(), capture_output=True, text=True, timeout=120)
    return {f"{t['zone']}/{t['name']}": t for t in json.loads(status.stdout)}


def _query_while(process: subprocess.Popen) -> list[subprocess.CompletedProcess]:
    """`nexus sql -c` over and over while `process` (a nexus run) is writing the lake and republishing."""
    answers = []
    while process.poll() is None:
        answers.append(
            subprocess.run(
                [NEXUS, "sql", "-c", "select count(*) as n from fct_prices_daily", "--format", "csv"],
                env=_env(),
                capture_output=True,
                text=True,
                timeout=60,
            )
        )
        time.sleep(0.5)
    return answers


def test_run_builds_every_stage_and_a_rerun_changes_nothing(default_lake_run, monkeypatch):
    for name, value in default_lake_run.env.items():  # this test's settings are the first run's shell's
        if name.startswith("NEXUS_"):
            monkeypatch.setenv(name, value)
    settings = get_settings()
    storage = LakeStorage.from_settings(settings)
    assert settings.lake_uri == str(default_lake_run.root / "lake")
    # the re-run's shell is the first run's (the ingest's skip fingerprint hashes every setting)
    assert {k: v for k, v in _env().items() if k.startswith("NEXUS_")} == {
        k: v for k, v in default_lake_run.env.items() if k.startswith("NEXUS_")
    }
    args = [NEXUS, "run", "--start", START, "--end", END]
    first = default_lake_run
    assert first.returncode == 0, first.stdout + first.stderr
    assert "built the graph" in first.stdout and "make ui" in first.stdout
    assert "too short" not in first.stdout

    tables = _status()
    for name in SILVER_TABLES:
        assert tables[name]["rows"] > 0, f"{name} is empty"
        assert tables[name]["last_date"] <= END, f"{name} holds data after the as-of date"
    assert tables["silver/cboe/index_closes"]["last_date"] == END
    assert tables["gold/marts/fct_vol_term_structure_daily"]["rows"] > 1000
    assert "bronze/_manifest" in tables

    # signals: every instrument and horizon on the last day
    signals = read_table(storage, storage.uri("gold", "signals", "daily")).to_pandas()
    last = signals[signals["signal_date"].astype(str) == END]
    assert len(last) == 12 * 6 and sorted(last["horizon"].unique()) == [1, 2, 3, 5, 7, 10]
    assert last["probability"].between(0, 1).all()

    # the six personas: table rows on the last day, and the day's JSON document valid against its JSON Schema
    import jsonschema

    from assets.personas.models import OUTPUT_MODELS

    personas_root = Path(storage.uri("gold", "personas"))
    for persona in PERSONAS:
        rows = read_table(storage, storage.uri("gold", "personas", persona)).to_pylist()
        assert any(str(r["as_of"]) == END for r in rows), f"no {persona} rows on {END}"
        document = json.loads((personas_root / "_documents" / f"date={END}" / f"{persona}.json").read_text())
        schema = json.loads((personas_root / "_schemas" / f"persona_{persona}.schema.json").read_text())
        jsonschema.validate(document, schema)
        OUTPUT_MODELS[persona].model_validate(document)
        if persona in ("retail_trader", "hedge_fund"):  # the paper-trading ledger, as known on the day
            record = document["paper_track_record"]
            assert record is not None and record["end"] <= END and "Paper (simulated)" in record["text"]
    pdf = Path(storage.uri("gold", "reports", "market_intelligence", f"{END}.pdf"))
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
    import pypdf

    pdf_text = " ".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    assert "Paper (simulated) track record" in " ".join(pdf_text.split())

    # one delivery per sample client, each verifiable, each row valid against the shipped JSON Schema
    from assets.feeds.runner import feeds_storage
    from resources.feeds.clients import get_clients
    from resources.feeds.delivery import read_manifest, verify_delivery
    from resources.feeds.log import DELIVERY_LOG

    log = read_table(storage, DELIVERY_LOG).to_pylist()
    assert sorted(r["client_id"] for r in log) == sorted(
        c.client_id for c in get_clients(settings.clients_file).clients
    )
    feeds = feeds_storage(settings)
    for entry in log:
        assert verify_delivery(feeds, entry["manifest_uri"]) == []
        manifest = read_manifest(feeds, entry["manifest_uri"])
        folder = Path(entry["manifest_uri"]).parent
        assert sum(manifest.row_counts.values()) > 0
        if manifest.format == "jsonl":
            for f in manifest.files:
                schema = json.loads((folder / "schemas" / f"{f.dataset}.schema.json").read_text())
                for line in (folder / f.path).read_text().splitlines()[:20]:
                    jsonschema.validate(json.loads(line), schema)
    hashes = _hashes(storage)
    versions = _versions(storage)
    assert "Time per stage" in first.stdout and "persona_outputs" in first.stdout

    # a re-run changes nothing (no new Delta version anywhere), and analysts can query the marts all along
    started_second = time.time()
    second = subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    answers = _query_while(second)
    out, _ = second.communicate(timeout=900)
    assert second.returncode == 0, out
    assert len(answers) >= 5
    for answer in answers:
        assert answer.returncode == 0, answer.stderr
        assert int(answer.stdout.splitlines()[1]) > 0
    assert _hashes(storage) == hashes
    assert _versions(storage) == versions
    # each stage says it skipped work whose inputs are unchanged, in its metadata and in the timing table: a job
    # whose every step would skip is left out (no run launched) and observes each of its assets instead
    for key in (
        ["gold", "models", "oos_predictions"],
        ["gold", "models", "regimes"],
        ["gold", "signals", "daily"],
        ["gold", "marts", "fct_features_daily"],
        ["silver", "cboe", "index_closes"],
        ["gold", "personas", "wealth_manager"],
    ):
        assert _latest_metadata(key, observed=True)["skipped"] == "skipped: inputs unchanged", key
    assert _jobs_run_since(started_second) == [], out
    table_lines = [line for line in out.splitlines() if "persona_outputs" in line and "▶" not in line]
    assert [line for line in table_lines if " ok in " not in line and "yes" in line], out  # the timing table

    listing = subprocess.run([NEXUS, "feeds", "list", "--json"], env=_env(), capture_output=True, text=True)
    assert all(c["deliveries"] == 1 and c["last_as_of"] <= END for c in json.loads(listing.stdout))
    again = subprocess.run([NEXUS, "feeds", "deliver"], env=_env(), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and again.stdout.count("unchanged v1") == 3, again.stdout


def test_run_reports_a_failure_clearly(tmp_path):
    env = _env() | {"NEXUS_SOURCE_MODE": "files", "NEXUS_FILES_DIR": str(tmp_path / "nothing-here")}
    result = subprocess.run([NEXUS, "run", "--end", "2024-06-28"], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    assert "daily_ingest_job failed" in result.stdout
    assert "no Cboe" in result.stdout


@pytest.mark.real_data
def test_every_real_file_loads_from_the_cli(real_data):
    for source, folder in REAL_FOLDERS.items():
        result = subprocess.run(
            [NEXUS, "ingest", source, "--files", str(real_data / folder)],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{source}: {result.stdout}{result.stderr}"
        assert "quarantined 0" in result.stdout, result.stdout
        assert "added" in result.stdout
    status = subprocess.run([NEXUS, "status", "--json"], env=_env(), capture_output=True, text=True, timeout=120)
    tables = {f"{t['zone']}/{t['name']}": t["rows"] for t in json.loads(status.stdout)}
    assert tables["silver/cot/tff_positions"] > 10_000
    assert tables["silver/fred/observations"] > 60_000
    assert tables["silver/coinmetrics/asset_metrics"] > 100_000
