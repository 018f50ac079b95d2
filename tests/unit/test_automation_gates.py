"""Gates across runs: a failed blocking check keeps everything downstream from being built in later ticks too.

The real code location's conditions are evaluated against an instance holding the events a run would leave
(materializations and check results), the way the daemon evaluates them.
"""

import re
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    AssetMaterialization,
    AssetObservation,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    Definitions,
    Output,
    asset,
    evaluate_automation_conditions,
    materialize,
)
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteInstigatorOrigin, RemoteRepositoryOrigin
from dagster._core.scheduler.instigation import InstigatorState, InstigatorStatus, InstigatorType

from assets.automation import DAY_MARKER, RELEASE_TAG, release_sensor_name
from assets.partitions import AS_OF_TAG
from assets.signals.assets import daily_signals, paper_ledger
from assets.signals.readiness import decision_day_gap
from pipelines.definitions import build_definitions, defs
from resources.lake.delta import overwrite_table
from resources.lake.resource import LakeResource
from resources.lake.storage import LakeStorage
from resources.releases import STREAMS
from resources.settings import PROJECT_ROOT, get_settings
from resources.settings_resource import SettingsResource
from resources.simulated.clock import PublisherClock
from tests.e2e.daemon_days import CHAIN, gate_violations

MODELS = ["gold/models/regimes", "gold/models/oos_predictions", "gold/models/evaluation"]
DECISION_DAY = ["gold/signals/daily", "gold/personas/wealth_manager", "gold/feeds/delivery_log"]
CBOE = DAY_MARKER.to_user_string()


def suite_of(silver: str) -> str:
    return next(
        c.name
        for c in defs.get_repository_def().asset_graph.asset_check_keys
        if c.asset_key == AssetKey(silver.split("/")) and c.name.endswith("_suite")
    )


class Daemon:
    """Ticks of the automation sensor over one instance, keeping its cursor like the daemon does."""

    def __init__(self, instance: DagsterInstance | None = None, definitions: Definitions | None = None) -> None:
        self.instance = instance or DagsterInstance.ephemeral()
        self.definitions = definitions or defs  # a code location built in another environment (its clock file)
        self.cursor = None

    def materialize(self, *keys: str, partition: str | None = None) -> None:
        for key in keys:
            self.instance.report_runless_asset_event(
                AssetMaterialization(AssetKey(key.split("/")), partition=partition)
            )

    def check(self, key: str, name: str, passed: bool, partition: str | None = None) -> None:
        self.instance.report_runless_asset_event(
            AssetCheckEvaluation(
                asset_key=AssetKey(key.split("/")), check_name=name, passed=passed, blocking=True, partition=partition
            )
        )

    def land(self, day: str) -> None:
        """The publisher's day lands: Cboe's as-of partition `day` is materialized and passes its suite."""
        self.materialize(CBOE, partition=day)
        self.check(CBOE, suite_of(CBOE), passed=True, partition=day)

    def tick(self) -> dict[str, list[str] | bool]:
        result = evaluate_automation_conditions(defs=self.definitions, instance=self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        requested = {}
        for item in result.results:
            if item.true_subset.size:
                subset = item.true_subset
                keys = sorted(subset.expensively_compute_partition_keys()) if subset.is_partitioned else True
                requested[item.key.to_user_string()] = keys
        return requested


@pytest.fixture(scope="module")
def upstream_built() -> Daemon:
    """Everything the models read exists, and the models' inputs were just rebuilt."""
    daemon = Daemon()
    graph = defs.get_repository_def().asset_graph
    upstream = set()
    for key in [AssetKey(k.split("/")) for k in MODELS]:
        upstream |= graph.get(key).parent_keys
    upstream.add(AssetKey(["gold", "marts", "fct_features_daily"]))
    for key in upstream:
        if not graph.get(key).is_partitioned:
            daemon.materialize(key.to_user_string())
    daemon.tick()
    return daemon


def test_failed_leak_audit_blocks_signals_personas_and_feeds_in_later_runs(upstream_built: Daemon):
    daemon = upstream_built
    day = "2024-06-26"  # the publisher's day (its clock, not the wall clock's)
    daemon.land(day)
    daemon.tick()
    daemon.materialize(*MODELS)
    daemon.check("gold/models/evaluation", "leak_audit", passed=False)
    assert not set(daemon.tick()) & set(DECISION_DAY), "signals built on a model that failed its leak audit"
    # A later run rebuilds part of the models; the audit on evaluation still stands failed.
    daemon.materialize("gold/models/regimes")
    assert not set(daemon.tick()) & set(DECISION_DAY)
    daemon.materialize("gold/models/oos_predictions")
    assert not set(daemon.tick()) & set(DECISION_DAY)
    # The models are rebuilt and the audit passes: the publisher's day is built, stage after stage.
    daemon.materialize("gold/models/evaluation")
    daemon.check("gold/models/evaluation", "leak_audit", passed=True)
    requested = daemon.tick()
    for key in DECISION_DAY:
        assert requested.get(key) == [day], (key, requested)


def test_failed_silver_suite_blocks_the_marts_until_a_new_batch_passes():
    daemon = Daemon()
    daemon.tick()  # automation was on before the data arrived
    silver = "silver/cboe/index_closes"
    staging = "staging/stg_cboe__index_closes"
    suite = suite_of(silver)
    daemon.materialize(silver, partition="2024-06-27")
    daemon.check(silver, suite, passed=True, partition="2024-06-27")
    assert staging in daemon.tick()
    daemon.materialize(staging)
    daemon.materialize(silver, partition="2024-06-28")
    daemon.check(silver, suite, passed=False, partition="2024-06-28")
    assert staging not in daemon.tick()
    assert staging not in daemon.tick(), "a failed suite must keep blocking on later ticks"
    daemon.materialize(silver, partition="2024-07-01")  # the next trading day
    daemon.check(silver, suite, passed=True, partition="2024-07-01")
    assert staging in daemon.tick()


def test_a_decision_day_follows_the_publishers_day_once_the_models_have_caught_up_with_it():
    """Day D is due when Cboe's as-of partition D has landed, D is missing and the models were rebuilt after D
    landed: never a day the publisher has not reached (wall clock or history), never on the landing alone."""
    daemon = Daemon()
    graph = defs.get_repository_def().asset_graph
    for key in graph.get_all_asset_keys():
        if not graph.get(key).is_partitioned and graph.get(key).is_materializable:
            daemon.materialize(key.to_user_string())
    daemon.check("gold/models/evaluation", "leak_audit", passed=True)
    daemon.tick()  # automation on, a lake built without it: nothing partitioned has landed yet
    daemon.materialize(*MODELS)
    assert not set(daemon.tick()) & set(DECISION_DAY), "no publisher day has landed: no decision day is due"

    daemon.land("2024-06-26")
    assert not set(daemon.tick()) & set(DECISION_DAY), "the landing alone must wait for the marts and models"
    daemon.materialize(*MODELS)
    requested = daemon.tick()
    for key in [*DECISION_DAY, "gold/ledger/positions", "gold/reports/market_intelligence"]:
        assert requested.get(key) == ["2024-06-26"], (key, requested)
    for key in DECISION_DAY:
        daemon.materialize(key, partition="2024-06-26")
    daemon.materialize(*MODELS)
    assert not set(daemon.tick()) & set(DECISION_DAY), "a built day is not built again, nor any other day"

    daemon.land("2024-06-27")  # the next day: models updated earlier do not count, only those after it landed
    assert not set(daemon.tick()) & set(DECISION_DAY)
    daemon.materialize(*MODELS)
    requested = daemon.tick()
    assert requested.get("gold/signals/daily") == ["2024-06-27"], requested


def _lake_with_features_until(root: Path, last: date, day: date) -> LakeStorage:
    """A tiny lake holding what the signals stage reads first: features and predictions up to `last` (one symbol)."""
    storage = LakeStorage(root_uri=str(root))
    days = pd.bdate_range(last - timedelta(days=10), last)
    decision = days + pd.Timedelta(hours=21)
    features = pd.DataFrame(
        {
            "symbol": "SPX",
            "trade_date": days.date,
            "calendar": "NYSE",
            "decision_at": decision,
            "max_available_at_used": decision - pd.Timedelta(hours=1),
        }
    )
    labels = pd.DataFrame({"symbol": "SPX", "trade_date": days.date})
    predictions = pd.DataFrame({"symbol": "SPX", "trade_date": days.date, "horizon": 5, "probability": 0.5})
    for parts, frame in (
        (("marts", "fct_features_daily"), features),
        (("marts", "fct_labels_daily"), labels),
        (("models", "oos_predictions"), predictions),
    ):
        overwrite_table(storage, storage.uri("gold", *parts), pa.Table.from_pandas(frame, preserve_index=False))
    assert day > last
    return storage


def test_a_models_rebuild_without_the_days_rows_leaves_the_day_missing_and_the_next_one_builds_it(tmp_path):
    """The signals for the publisher's day D are built from D's rows, not merely after D landed: a models rebuild
    from marts that do not hold D yet requests D, but the signals stage materializes nothing (D stays missing,
    nothing downstream runs, an observation says why), so the next models rebuild requests exactly D again."""
    day = date(2024, 6, 26)
    storage = _lake_with_features_until(tmp_path / "lake", date(2024, 6, 25), day)
    result = materialize(
        [daily_signals, paper_ledger],
        partition_key=day.isoformat(),
        resources={
            "lake": LakeResource(lake_uri=storage.root_uri),
            "settings": SettingsResource.from_settings(get_settings()),
        },
        raise_on_error=True,
    )
    assert result.success
    assert result.get_asset_materialization_events() == [], "day D built from marts that do not hold it"
    skipped = {e.step_key for e in result.all_events if e.event_type == DagsterEventType.STEP_SKIPPED}
    assert skipped == {"gold__ledger__positions"}, f"the ledger ran on a day whose signals were not built: {skipped}"
    (observed,) = result.get_asset_observation_events()
    reason = observed.asset_observation_data.asset_observation.metadata["not_built"].value
    assert "fct_features_daily has no row for 2024-06-26" in reason, reason

    # The automation, seeing exactly that (requested, not materialized), asks for D again after the next rebuild.
    daemon = Daemon()
    graph = defs.get_repository_def().asset_graph
    for key in graph.get_all_asset_keys():
        if not graph.get(key).is_partitioned and graph.get(key).is_materializable:
            daemon.materialize(key.to_user_string())
    daemon.check("gold/models/evaluation", "leak_audit", passed=True)
    daemon.tick()
    daemon.land(day.isoformat())
    daemon.tick()
    daemon.materialize(*MODELS)  # the rebuild from marts without D's rows
    assert daemon.tick().get("gold/signals/daily") == [day.isoformat()]
    daemon.instance.report_runless_asset_event(
        AssetObservation(AssetKey(["gold", "signals", "daily"]), partition=day.isoformat())
    )
    assert not set(daemon.tick()) & set(DECISION_DAY), "a requested day is not asked for again before a rebuild"
    daemon.materialize(*MODELS)  # the rebuild from marts that hold D
    requested = daemon.tick()
    for key in DECISION_DAY:
        assert requested.get(key) == [day.isoformat()], (key, requested)


def test_the_decision_day_gap_names_the_input_that_lacks_the_day_and_ignores_market_holidays():
    days = pd.to_datetime(["2024-06-24", "2024-06-25"])
    features = pd.DataFrame({"trade_date": days})
    assert decision_day_gap(features, features, date(2024, 6, 25)) is None
    gap = decision_day_gap(features, features, date(2024, 6, 26))
    assert gap is not None and gap.startswith("fct_features_daily has no row for 2024-06-26")
    assert "latest day is 2024-06-25" in gap
    with_day = pd.DataFrame({"trade_date": pd.to_datetime(["2024-06-26"])})
    gap = decision_day_gap(with_day, features, date(2024, 6, 26))
    assert gap is not None and gap.startswith("oos_predictions has no row for 2024-06-26")
    assert decision_day_gap(features, features, date(2024, 6, 19)) is None, "Juneteenth: Cboe does not publish"


def _switch_on(instance: DagsterInstance, *streams: str) -> None:
    location = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("nexus"), "__repository__")
    for stream in streams:
        origin = RemoteInstigatorOrigin(location, release_sensor_name(stream))
        instance.add_instigator_state(InstigatorState(origin, InstigatorType.SENSOR, InstigatorStatus.RUNNING))


def _release_run(instance: DagsterInstance, stream: str, day: str, status: DagsterRunStatus) -> str:
    run = DagsterRun(job_name=f"{stream}_ingest_job", status=status, tags={RELEASE_TAG: stream, AS_OF_TAG: day})
    instance.add_run(run)
    return run.run_id


def test_the_marts_start_once_per_release_batch_not_once_per_silver_table(monkeypatch, tmp_path):
    """Wednesday evening by the publishers' clock: Cboe's and FRED's releases are due. Cboe's lands first; the marts
    wait while FRED's ingest is running, then one tick requests both staging models and what follows in one run."""
    clock = tmp_path / "clock.json"
    monkeypatch.setenv("NEXUS_PUBLISHER_CLOCK_FILE", str(clock))
    PublisherClock(clock).set(datetime(2024, 6, 26, 17, 5, tzinfo=ZoneInfo("America/New_York")))
    day = "2024-06-26"
    (tmp_path / "home").mkdir()
    # sensor states need schedule storage; the code location is built with the clock file, as a code server
    # started in this environment would be (its gate reads the publishers' clock of the settings it was built with)
    daemon = Daemon(DagsterInstance.local_temp(str(tmp_path / "home")), build_definitions(get_settings()))
    graph = defs.get_repository_def().asset_graph
    for key in graph.get_all_asset_keys():  # a lake built by `nexus run`, then automation turned on
        if not graph.get(key).is_partitioned and graph.get(key).is_materializable:
            daemon.materialize(key.to_user_string())
    for check in graph.asset_check_keys:  # ... whose blocking checks passed
        if graph.get(check).blocking and not graph.get(check.asset_key).is_partitioned:
            daemon.check(check.asset_key.to_user_string(), check.name, passed=True)
    daemon.tick()
    _switch_on(daemon.instance, "cboe", "fred")
    cboe, fred = "silver/cboe/index_closes", "silver/fred/series"
    staging = {"staging/stg_cboe__index_closes", "staging/stg_fred__series"}
    _release_run(daemon.instance, "cboe", day, DagsterRunStatus.SUCCESS)
    daemon.materialize(cboe, partition=day)
    daemon.check(cboe, suite_of(cboe), passed=True, partition=day)
    assert not set(daemon.tick()) & staging, "FRED's release is due but not ingested: the batch has not landed"
    running = _release_run(daemon.instance, "fred", day, DagsterRunStatus.STARTED)
    assert not set(daemon.tick()) & staging, "FRED's ingest is running"
    daemon.instance.delete_run(running)
    _release_run(daemon.instance, "fred", day, DagsterRunStatus.SUCCESS)
    daemon.materialize(fred, partition=day)
    daemon.check(fred, suite_of(fred), passed=True, partition=day)
    requested = daemon.tick()
    assert staging <= set(requested), "both staging models in one tick: one marts run for the batch"
    assert "marts/fct_features_daily" in requested, sorted(requested)


def test_the_daemon_tests_read_path_names_assets_of_the_code_location():
    """The daemon test waits on these keys for up to 40 minutes each: a renamed asset must fail here, at once."""
    keys = defs.get_repository_def().asset_graph.get_all_asset_keys()
    assert set(CHAIN) <= keys, sorted(k.to_user_string() for k in set(CHAIN) - keys)


def _toy_chain(suite_passes: bool) -> list:
    """silver -> staging -> mart, the silver suite passing or failing (not blocking, so a failure does not stop the
    run: the mart then builds from an input that failed its gate, as a broken gate would let it)."""

    @asset(
        key=["silver", "toy", "closes"],
        check_specs=[AssetCheckSpec("silver_toy_closes_suite", asset=AssetKey(["silver", "toy", "closes"]))],
    )
    def silver_closes():
        yield Output(1)
        yield AssetCheckResult(passed=suite_passes)

    @asset(key=["staging", "stg_toy__closes"], deps=[silver_closes])
    def staging_closes() -> None:
        return None

    @asset(key=["marts", "fct_toy_daily"], deps=[staging_closes])
    def mart() -> None:
        return None

    return [silver_closes, staging_closes, mart]


def test_the_daemon_tests_gate_assertion_fails_on_a_mart_built_from_an_ungated_input():
    """The daemon test's claim (tests/e2e/daemon_days.py::gate_violations) on real run event logs: it holds when the
    silver suite passed before the mart started, and fails when it failed or never ran."""
    graph = Definitions(assets=_toy_chain(True)).get_repository_def().asset_graph
    silver, downstream = _toy_chain(True)[0], _toy_chain(True)[1:]

    instance = DagsterInstance.ephemeral()
    materialize([silver], instance=instance)
    run = materialize(downstream, instance=instance).run_id
    assert gate_violations(instance, run, graph) == []
    assert gate_violations(instance, materialize(_toy_chain(True), instance=instance).run_id, graph) == []

    failed = DagsterInstance.ephemeral()
    materialize(_toy_chain(False)[:1], instance=failed)
    run = materialize(downstream, instance=failed).run_id
    assert "marts/fct_toy_daily read silver/toy/closes ungated (silver_toy_closes_suite)" in gate_violations(
        failed, run, graph
    )
    assert "staging/stg_toy__closes built before silver/toy/closes:silver_toy_closes_suite passed" in gate_violations(
        failed, run, graph
    )

    never = DagsterInstance.ephemeral()
    run = materialize(downstream, instance=never).run_id
    assert len(gate_violations(never, run, graph)) == 3, "a publisher never ingested"


def test_the_sensor_intervals_come_from_the_settings():
    """Production asks for releases every minute and evaluates automation every 30 s; the daemon test shortens both
    through the settings, not by editing the code location."""
    repository = defs.get_repository_def()
    assert {s.minimum_interval_seconds for s in repository.sensor_defs if s.name.endswith("_release")} == {60}
    assert repository.get_sensor_def("nexus_automation").minimum_interval_seconds == 30
    fast = get_settings().model_copy(update={"release_sensor_interval_s": 5, "automation_interval_s": 10})
    repository = build_definitions(fast).get_repository_def()
    releases = [s for s in repository.sensor_defs if s.name.endswith("_release")]
    assert len(releases) == len(STREAMS) and {s.minimum_interval_seconds for s in releases} == {5}
    assert repository.get_sensor_def("nexus_automation").minimum_interval_seconds == 10


def test_make_serve_gives_the_automation_evaluation_time_on_the_code_server():
    """nexus_automation runs on the code server (ReleaseBatchLanded); Dagster's 60 s gRPC default failed its ticks
    on busy cores, so `make serve` starts the daemon with a longer one."""
    dry = subprocess.run(["make", "-n", "serve"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
    exported = re.search(r"DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS=(\d+) \\\s*\S+ -m pipelines.serve", dry)
    assert exported is not None and int(exported.group(1)) >= 120, dry[-600:]


def test_a_failed_silver_suite_holds_every_mart_model_and_day_that_reads_it_at_any_depth():
    """Monday: FRED's batch passes its suite, Cboe's fails. FRED's own staging model may follow, but nothing that
    reads Cboe's table at any depth (the features mart two layers down, the models, the decision day) is rebuilt
    from FRED's new rows and Cboe's last good version. Tuesday: Cboe's corrected batch passes; all of it follows."""
    daemon = Daemon()
    graph = defs.get_repository_def().asset_graph
    for key in graph.get_all_asset_keys():  # a lake built by `nexus run` whose checks passed, automation on
        if not graph.get(key).is_partitioned and graph.get(key).is_materializable:
            daemon.materialize(key.to_user_string())
    for check in graph.asset_check_keys:
        if graph.get(check).blocking and not graph.get(check.asset_key).is_partitioned:
            daemon.check(check.asset_key.to_user_string(), check.name, passed=True)
    daemon.tick()
    cboe, fred = CBOE, "silver/fred/observations"
    features = "marts/fct_features_daily"
    reads_cboe = {features, "gold/marts/fct_features_daily", *MODELS, "staging/stg_cboe__index_closes"}
    daemon.materialize(fred, partition="2024-06-24")
    daemon.check(fred, suite_of(fred), passed=True, partition="2024-06-24")
    daemon.materialize(cboe, partition="2024-06-24")
    daemon.check(cboe, suite_of(cboe), passed=False, partition="2024-06-24")
    built = set()
    for _ in range(6):  # FRED's rows go as far as the gates let them, tick after tick
        requested = daemon.tick()
        assert not reads_cboe & set(requested), sorted(reads_cboe & set(requested))
        assert not set(requested) & set(DECISION_DAY), sorted(requested)
        built |= set(requested)
        _build(daemon, graph, requested)
    assert {"staging/stg_fred__observations", "marts/fct_macro_daily"} <= built, sorted(built)
    daemon.check(cboe, suite_of(cboe), passed=True, partition="2024-06-25")  # the corrected batch
    daemon.materialize(cboe, partition="2024-06-25")
    requested = daemon.tick()
    assert {features, "staging/stg_cboe__index_closes", *MODELS} <= set(requested), sorted(requested)


def _build(daemon: Daemon, graph, requested: dict) -> None:
    """What a run launched for `requested` stores: each unpartitioned asset, its blocking checks passed."""
    for name in requested:
        key = AssetKey(name.split("/"))
        if not graph.get(key).is_partitioned:
            daemon.materialize(name)
            for check in graph.get_check_keys_for_assets([key]):
                if graph.get(check).blocking:
                    daemon.check(name, check.name, passed=True)
