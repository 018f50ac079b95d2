"""Persona outputs per day: six gold tables, JSON documents, the weekly PDF report and the audit trail."""

import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    AssetSpec,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from assets.automation import DAY_MARKER, decision_day_after_inputs
from assets.partitions import DECISION_DAY_PARTITION_MEANING, daily_partitions, window_of
from assets.personas.audit import AUDIT_TABLE
from assets.personas.config import HedgingDeskConfig, PersonasConfig
from assets.personas.daily import build_all, publish_days
from assets.personas.lake_inputs import load_persona_inputs
from assets.personas.models import PERSONAS, PersonaName, PersonaOutput
from assets.personas.report_worker import Reports, reports
from assets.personas.tables import PERSONA_TABLES, json_schemas, output_json
from assets.signals.assets import LEDGER_KEY, SIGNALS_KEY
from assets.signals.ledger import PORTFOLIO, POSITIONS
from assets.skips import Window, skip_probe
from resources.lake.resource import LakeResource
from resources.lake.stage_state import (
    SKIPPED,
    StageFingerprint,
    StageRecord,
    code_hash,
    config_hash,
    record_run,
    table_versions,
    unchanged,
)
from resources.lake.storage import LakeStorage
from resources.settings import Settings
from resources.settings_resource import SettingsResource
from resources.universe import Universe, get_universe

# the tables load_persona_inputs reads (gold/<parts>), whose Delta versions say whether anything is new
INPUT_TABLES = [
    ("signals", "daily"),
    POSITIONS.path_parts(),
    PORTFOLIO.path_parts(),
    ("marts", "fct_features_daily"),
    ("marts", "fct_prices_daily"),
    ("marts", "fct_energy_daily"),
    ("models", "evaluation"),
    ("models", "ensemble_weights"),
    ("models", "oos_predictions"),
]
PERSONA_KEYS = {p: AssetKey(["gold", "personas", p]) for p in PERSONAS}
AUDIT_KEY = AssetKey(["gold", "audit", "recommendations"])
REPORT_KEY = AssetKey(["gold", "reports", "market_intelligence"])


def persona_config(settings: Settings) -> PersonasConfig:
    """The personas' configuration for these settings (the hedging desk's exposures file)."""
    return PersonasConfig(hedging_desk=HedgingDeskConfig(exposures_file=settings.exposures_file))


INPUTS = [
    SIGNALS_KEY,
    LEDGER_KEY,
    AssetKey(["gold", "marts", "fct_features_daily"]),
    AssetKey(["gold", "models", "evaluation"]),
    DAY_MARKER,
]


@multi_asset(
    name="persona_outputs",
    specs=[
        *[
            AssetSpec(
                key,
                deps=INPUTS,
                group_name="personas",
                kinds={"delta", "json"},
                partitions_def=daily_partitions,
                automation_condition=decision_day_after_inputs(),
                description=f"Persona output: {p.replace('_', ' ')}. {DECISION_DAY_PARTITION_MEANING}",
                skippable=True,  # not materialized again when its inputs are unchanged
            )
            for p, key in PERSONA_KEYS.items()
        ],
        AssetSpec(
            AUDIT_KEY,
            deps=[*PERSONA_KEYS.values(), DAY_MARKER],
            group_name="personas",
            kinds={"delta"},
            partitions_def=daily_partitions,
            automation_condition=decision_day_after_inputs(),
            description=f"Append-only audit trail: every recommendation with its inputs and rule path. "
            f"{DECISION_DAY_PARTITION_MEANING}",
            skippable=True,
        ),
        AssetSpec(
            REPORT_KEY,
            deps=[PERSONA_KEYS["wealth_manager"], DAY_MARKER],
            group_name="personas",
            kinds={"pdf"},
            partitions_def=daily_partitions,
            automation_condition=decision_day_after_inputs(),
            description="Weekly client-ready 'Market Intelligence Report' (PDF, Fridays and the run's last day). "
            f"{DECISION_DAY_PARTITION_MEANING}",
            skippable=True,
        ),
    ],
    backfill_policy=BackfillPolicy.single_run(),
    can_subset=False,
)
def persona_outputs(context: AssetExecutionContext, lake: LakeResource, settings: SettingsResource):  # noqa: ANN201
    first, last = window_of(context)
    storage, current = lake.storage(), settings.get()
    first = first or last
    config = persona_config(current)
    fingerprint = persona_fingerprint(storage, current, first, last, config)
    outputs = persona_output_uris(storage)
    record = unchanged(storage, fingerprint, outputs)
    if record is not None:
        # Nothing is materialized (no new data): one observation per asset on the window's last day says so.
        # Materializing a 31-day range records a materialization per asset and day (176 for 22 trading days),
        # which the UI and the automation would then read as new data; the outputs are skippable for this reason.
        context.log.info(f"persona_outputs {first} → {last}: {SKIPPED}")
        partition = context.partition_key_range.end if context.has_partition_key_range else None
        for key in [*PERSONA_KEYS.values(), AUDIT_KEY, REPORT_KEY]:
            context.log_event(
                AssetObservation(
                    asset_key=key,
                    partition=partition,
                    metadata={"skipped": SKIPPED, "window": f"{first} .. {last}", "days": record.summary["days"]},
                )
            )
        return
    started = time.perf_counter()
    universe = get_universe(current.universe_file)
    # the weekly PDFs: drawn in a worker while this process builds and publishes, when one is cheap to start
    with reports() as drawn:
        summary = build_and_publish(
            storage, first, last, config, universe=universe, run_id=context.run_id, reports=drawn
        )
        results = {
            **summary,
            "skipped": "no: inputs changed",
            "compute_seconds": round(time.perf_counter() - started, 2),
        }
        # the tables, the audit trail and the documents are written: Dagster records their materializations (one
        # event per asset and day) while the worker finishes the reports
        yield from _table_results(storage, results)
        for day in drawn.days:
            storage.write_bytes(report_uri(storage, day), drawn.result(day))
    record_run(storage, fingerprint, outputs, summary)
    seconds = round(time.perf_counter() - started, 2)
    context.log.info(f"persona_outputs {first} → {last}: {summary['days']} days built and published in {seconds} s")
    yield _report_result({**results, "compute_seconds": seconds})


def persona_fingerprint(
    storage: LakeStorage, settings: Settings, first: date, last: date, config: PersonasConfig
) -> StageFingerprint:
    """The persona stage's inputs: the tables `load_persona_inputs` reads, its code, config and window."""
    files = [settings.universe_file, config.hedging_desk.exposures_file]
    return StageFingerprint(
        stage="personas",
        inputs=table_versions(storage, [storage.uri("gold", *parts) for parts in INPUT_TABLES]),
        code=code_hash("assets.personas", "assets.signals.contract", "assets.signals.ledger"),
        config=config_hash(
            {
                "config": config.model_dump(mode="json"),
                "window": [first.isoformat(), last.isoformat()],
                "files": [Path(f).read_text(encoding="utf-8") if f and Path(f).is_file() else None for f in files],
            }
        ),
    )


def persona_output_uris(storage: LakeStorage) -> list[str]:
    return [storage.uri("gold", *spec.path_parts()) for spec in [*PERSONA_TABLES.values(), AUDIT_TABLE]]


@skip_probe("persona_outputs")
def personas_unchanged(storage: LakeStorage, settings: Settings, window: Window) -> StageRecord | None:
    config = persona_config(settings)
    fingerprint = persona_fingerprint(storage, settings, window.first or window.last, window.last, config)
    return unchanged(storage, fingerprint, persona_output_uris(storage))


def report_uri(storage: LakeStorage, day: date) -> str:
    return storage.uri(*REPORT_KEY.path, f"{day.isoformat()}.pdf")


def build_and_publish(
    storage: LakeStorage,
    first: date,
    last: date,
    config: PersonasConfig,
    *,
    universe: Universe,
    run_id: str,
    reports: Reports,
) -> dict[str, Any]:
    """Every day's six outputs built in memory, then published at once (one Delta commit per table), then the
    documents. Each weekly PDF (Fridays and the last day) goes to `reports` as soon as its day is built; the caller
    writes them (`reports.result`). Returns the summary shown as metadata."""
    inputs = load_persona_inputs(storage, first, last, universe)
    days = sorted({d.date() for d in pd.to_datetime(inputs.signals["signal_date"]) if first <= d.date() <= last})
    for name, schema in json_schemas().items():
        storage.write_bytes(
            storage.uri("gold", "personas", "_schemas", f"persona_{name}.schema.json"),
            (json.dumps(schema, indent=2, sort_keys=True) + "\n").encode(),
        )
    by_day: dict[date, dict[PersonaName, PersonaOutput]] = {}
    for day in days:
        by_day[day] = outputs = build_all(inputs, day, config)
        if day.weekday() == 4 or day == days[-1]:
            reports.submit(day, outputs["wealth_manager"], inputs.ledger_until(day)[1])
    stats = publish_days(storage, by_day, run_id=run_id)
    counts: dict[str, int] = {p: 0 for p in PERSONAS}
    for day, outputs in by_day.items():
        for persona, output in outputs.items():
            counts[persona] += len(output.items())
            storage.write_bytes(
                storage.uri("gold", "personas", "_documents", f"date={day.isoformat()}", f"{persona}.json"),
                output_json(output),
            )
    audit = stats.get("audit/recommendations")
    return {
        "days": len(days),
        "latest_day": days[-1].isoformat() if days else "none",
        "items": counts,
        "audit_added": audit.added if audit else 0,
        "reports": [report_uri(storage, day) for day in reports.days],
        "simulated_data": inputs.simulated,
    }


def _table_results(storage: LakeStorage, summary: dict[str, Any]):
    latest = summary["latest_day"]
    for persona, key in PERSONA_KEYS.items():
        yield MaterializeResult(
            asset_key=key,
            metadata={
                "skipped": summary["skipped"],
                "compute_seconds": summary.get("compute_seconds", 0.0),
                "days": summary["days"],
                "latest_day": latest,
                "items": summary["items"][persona],
                "simulated_data": summary["simulated_data"],
                "document": MetadataValue.path(
                    storage.uri("gold", "personas", "_documents", f"date={latest}", f"{persona}.json")
                ),
                # rows written by this run (none when skipped)
                "dagster/row_count": 0 if summary["skipped"] == SKIPPED else summary["items"][persona],
            },
        )
    yield MaterializeResult(
        asset_key=AUDIT_KEY,
        metadata={
            "skipped": summary["skipped"],
            "added": 0 if summary["skipped"] == SKIPPED else summary["audit_added"],
            "table": MetadataValue.path(storage.uri("gold", *AUDIT_TABLE.path_parts())),
        },
    )


def _report_result(summary: dict[str, Any]) -> MaterializeResult:
    reports = summary["reports"]
    return MaterializeResult(
        asset_key=REPORT_KEY,
        metadata={
            "skipped": summary["skipped"],
            "reports": len(reports),
            "latest": MetadataValue.path(reports[-1]) if reports else "none",
            "simulated_data": summary["simulated_data"],
        },
    )
