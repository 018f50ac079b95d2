"""One chain at a time, and `nexus run`'s runs listed under their jobs in the UI (GraphQL here, browser beside).

Two `nexus run`s start at the same moment on a fresh Dagster home: one builds, the other refuses with one line
and never opens the instance; a third run afterwards succeeds on the same, uncorrupted instance. The three runs
start when the session does (tests/e2e/early_runs.py), niced; the tests here check what they left.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from tests.e2e.browser import browser_page, open_page
from tests.e2e.chain_fixtures import Webserver, webserver

pytestmark = pytest.mark.slow

RUNS_OF_JOB = """
query ($job: String!) {
  pipelineOrError(params: {repositoryLocationName: "nexus", repositoryName: "__repository__", pipelineName: $job}) {
    __typename
    ... on Pipeline { runs { runId status } }
  }
}"""
ALL_RUNS = """
{ runsOrError { ... on Runs { results {
    runId jobName status
    repositoryOrigin { repositoryLocationName repositoryName }
} } } }"""


@pytest.fixture(scope="module")
def chain(chain_runs) -> dict:
    """The runs of tests/e2e/early_runs.py's chain (started with the session): the pair, then the third."""
    return {"env": chain_runs.env, "home": chain_runs.home, "pair": chain_runs.pair, "third": chain_runs.third}


def test_two_runs_at_once_one_refuses_cleanly_and_a_third_succeeds(chain):
    codes = sorted(code for _, code in chain["pair"])
    assert codes == [0, 3], chain["pair"]
    built = next(out for out, code in chain["pair"] if code == 0)
    refused = next(out for out, code in chain["pair"] if code == 3)
    assert "built the graph" in built
    lines = [line for line in refused.splitlines() if line.strip()]
    assert len(lines) == 2 and lines[1].startswith("✋ not started: another nexus run (pid "), refused
    assert str(chain["home"]) in lines[1]
    third = chain["third"]
    assert third.returncode == 0, third.stdout + third.stderr
    assert "built the graph" in third.stdout
    for output in (built, third.stdout + third.stderr):
        assert "emitted no result" not in output
        assert "Traceback" not in output


@pytest.fixture(scope="module")
def server(chain: dict) -> Iterator[Webserver]:
    with webserver(chain["env"]) as running:
        yield running


def test_runs_are_listed_under_their_jobs_and_the_code_location(server):
    runs = server.graphql(ALL_RUNS)["runsOrError"]["results"]
    jobs = {run["jobName"] for run in runs}
    assert {"daily_ingest_job", "weekly_ingest_job", "marts_job"} <= jobs
    # one run per job, all from the run that built: the refused run recorded nothing, and the third found nothing new,
    # so `nexus run` left every job out (pipelines/preflight.py) instead of launching runs that would only skip
    assert len(runs) == len(jobs)
    for run in runs:
        assert run["status"] == "SUCCESS"
        assert run["repositoryOrigin"] == {"repositoryLocationName": "nexus", "repositoryName": "__repository__"}
    for job in jobs:
        listed = server.graphql(RUNS_OF_JOB, {"job": job})["pipelineOrError"]
        assert listed["__typename"] == "Pipeline"
        assert {r["runId"] for r in listed["runs"]} == {r["runId"] for r in runs if r["jobName"] == job}


ASSET_GRAPH = "{ assetNodes { assetKey { path } groupName isPartitioned hasAssetChecks } }"


def test_the_webserver_serves_the_asset_graph_in_stage_groups(server):
    """Dagster's own webserver (workspace.yaml) loads the code location and serves the asset graph over GraphQL."""
    by_key = {"/".join(n["assetKey"]["path"]): n for n in server.graphql(ASSET_GRAPH)["assetNodes"]}
    assert by_key["silver/cboe/index_closes"]["groupName"] == "silver"
    assert by_key["silver/cboe/index_closes"]["isPartitioned"]
    assert by_key["silver/cboe/index_closes"]["hasAssetChecks"]
    # groups are the stages an operator follows (issue 10): bronze lands with its ingest, dbt's layers and the
    # published gold copies are all the marts stage
    assert by_key["bronze/cboe/index_history"]["groupName"] == "ingest"
    assert by_key["marts/fct_vol_term_structure_daily"]["groupName"] == "marts"
    assert by_key["staging/stg_cboe__index_closes"]["groupName"] == "marts"
    assert by_key["gold/marts/fct_vol_term_structure_daily"]["groupName"] == "marts"


PARTITION_STATS = """
query ($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode { groupName partitionStats { numMaterialized numPartitions numFailed } }
  }
}"""


def test_the_catalog_shows_trading_day_partitions_from_the_lake_start_in_stage_groups(server):
    """Partitions start at the lake's start and skip weekends and holidays; the run's as-of day shows materialized."""
    june = server.graphql(PARTITION_STATS, {"path": ["silver", "cboe", "index_closes"]})["assetNodeOrError"]
    assert june["groupName"] == "silver"
    # 3-28 June 2024: 20 weekdays, Juneteenth closed; partitions then run on to the current trading day
    assert june["partitionStats"]["numMaterialized"] >= 1 and june["partitionStats"]["numFailed"] == 0
    assert 19 < june["partitionStats"]["numPartitions"] < 19 + 260 * (1 + date.today().year - 2024)
    nodes = server.graphql("{ assetNodes { groupName } }")["assetNodes"]
    stages = {"ingest", "silver", "marts", "models", "signals", "personas", "feeds", "backfill", "maintenance"}
    assert {n["groupName"] for n in nodes} == stages


AS_OF_NODE = """
query ($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode {
      description
      partitionStats { numMaterialized }
      assetMaterializations(limit: 1) { partition }
    }
  }
}"""


def test_the_catalog_says_what_an_ingest_partition_means_and_shows_the_one_loaded_as_of(server):
    """An ingest partition is an as-of snapshot: the run's as-of partition is the one materialized, and the asset's
    description says that it covers every earlier day (so the empty earlier partitions are not missing data)."""
    for path, as_of_partition, words in (
        (["silver", "cboe", "index_closes"], "2024-06-28", "partition D (an NYSE trading day, New York)"),
        (["bronze", "cboe", "index_history"], "2024-06-28", "partition D (an NYSE trading day, New York)"),
        (["silver", "cot", "legacy_positions"], "2024-06-22", "partition W (the Saturday-to-Friday week"),
    ):
        node = server.graphql(AS_OF_NODE, {"path": path})["assetNodeOrError"]
        assert node["partitionStats"]["numMaterialized"] == 1, path
        assert node["assetMaterializations"][0]["partition"] == as_of_partition, path
        description = " ".join(node["description"].split())
        assert "as-of snapshots, not slices" in description and words in description, description
        assert "earlier partitions stay empty by design" in description
    signals = server.graphql(AS_OF_NODE, {"path": ["gold", "signals", "daily"]})["assetNodeOrError"]
    assert "One partition is one decision day D" in signals["description"]


def test_a_browser_shows_the_graph_the_runs_under_their_jobs_and_the_checks(server, chromium, artifacts):
    """Debian's Chromium through Playwright: the pages an operator opens after `make run`, as screenshots."""
    runs = server.graphql(ALL_RUNS)["runsOrError"]["results"]
    nodes = server.graphql("{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
    silver = {n["assetKey"]["path"][-1] for n in nodes if n["groupName"] == "silver"}
    with browser_page(chromium) as page:
        open_page(page, f"{server.url}/locations/nexus/asset-groups/silver/lineage")
        page.get_by_text("Asset checks").first.wait_for(timeout=60_000)  # asset nodes drawn, with their checks
        drawn = [name for name in silver if page.get_by_text(name, exact=True).count()]
        assert len(drawn) >= 3, f"the silver lineage shows {drawn} of {sorted(silver)}"
        page.screenshot(path=artifacts / "asset_graph.png", full_page=True)

        for job in ("marts_job", "daily_ingest_job"):
            open_page(page, f"{server.url}/locations/nexus/jobs/{job}/runs")
            for run in (r for r in runs if r["jobName"] == job):
                page.get_by_text(run["runId"][:8]).first.wait_for(timeout=60_000)
            assert page.get_by_text("No runs found").count() == 0
            page.screenshot(path=artifacts / f"{job}_runs.png", full_page=True)

        open_page(page, f"{server.url}/assets/silver/cboe/index_closes?view=checks")
        page.get_by_text("silver_cboe_index_closes_suite").first.wait_for(timeout=60_000)
        page.screenshot(path=artifacts / "index_closes_checks.png", full_page=True)
    assert sorted(p.name for p in artifacts.glob("*.png")) == [
        "asset_graph.png",
        "daily_ingest_job_runs.png",
        "index_closes_checks.png",
        "marts_job_runs.png",
    ]
