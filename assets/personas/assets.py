"""Persona outputs per day: six gold tables, JSON documents, the weekly PDF report and the audit trail."""

import json

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from assets.automation import decision_day_after_inputs
from assets.partitions import daily_partitions, window_of
from assets.personas.audit import AUDIT_TABLE
from assets.personas.config import HedgingDeskConfig, PersonasConfig
from assets.personas.daily import build_all, publish
from assets.personas.lake_inputs import load_persona_inputs
from assets.personas.models import PERSONAS
from assets.personas.report_pdf import render_report
from assets.personas.tables import json_schemas, output_json
from assets.signals.assets import LEDGER_KEY, SIGNALS_KEY
from resources.lake.resource import LakeResource
from resources.settings import get_settings

PERSONA_KEYS = {p: AssetKey(["gold", "personas", p]) for p in PERSONAS}
AUDIT_KEY = AssetKey(["gold", "audit", "recommendations"])
REPORT_KEY = AssetKey(["gold", "reports", "market_intelligence"])


def persona_config() -> PersonasConfig:
    """The personas' configuration for the current settings (read when the asset runs, not at import)."""
    return PersonasConfig(hedging_desk=HedgingDeskConfig(exposures_file=get_settings().exposures_file))


INPUTS = [
    SIGNALS_KEY,
    LEDGER_KEY,
    AssetKey(["gold", "marts", "fct_features_daily"]),
    AssetKey(["gold", "models", "evaluation"]),
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
                description=f"Persona output: {p.replace('_', ' ')}.",
            )
            for p, key in PERSONA_KEYS.items()
        ],
        AssetSpec(
            AUDIT_KEY,
            deps=list(PERSONA_KEYS.values()),
            group_name="personas",
            kinds={"delta"},
            partitions_def=daily_partitions,
            automation_condition=decision_day_after_inputs(),
            description="Append-only audit trail: every recommendation with its inputs and rule path.",
        ),
        AssetSpec(
            REPORT_KEY,
            deps=[PERSONA_KEYS["wealth_manager"]],
            group_name="personas",
            kinds={"pdf"},
            partitions_def=daily_partitions,
            automation_condition=decision_day_after_inputs(),
            description="Weekly client-ready 'Market Intelligence Report' (PDF, Fridays and the run's last day).",
        ),
    ],
    backfill_policy=BackfillPolicy.single_run(),
    can_subset=False,
)
def persona_outputs(context: AssetExecutionContext, lake: LakeResource):  # noqa: ANN201
    first, last = window_of(context)
    storage = lake.storage()
    first = first or last
    inputs = load_persona_inputs(storage, first, last)
    config = persona_config()
    days = sorted({d.date() for d in pd.to_datetime(inputs.signals["signal_date"]) if first <= d.date() <= last})
    for name, schema in json_schemas().items():
        storage.write_bytes(
            storage.uri("gold", "personas", "_schemas", f"persona_{name}.schema.json"),
            (json.dumps(schema, indent=2, sort_keys=True) + "\n").encode(),
        )
    counts: dict[str, int] = {p: 0 for p in PERSONAS}
    audit_added = 0
    reports = []
    for day in days:
        outputs = build_all(inputs, day, config)
        stats = publish(storage, outputs, run_id=context.run_id)
        audit_added += stats["audit/recommendations"].added
        for persona, output in outputs.items():
            counts[persona] += len(output.items())
            storage.write_bytes(
                storage.uri("gold", "personas", "_documents", f"date={day.isoformat()}", f"{persona}.json"),
                output_json(output),
            )
        if day.weekday() == 4 or day == days[-1]:
            uri = storage.uri("gold", "reports", "market_intelligence", f"{day.isoformat()}.pdf")
            storage.write_bytes(uri, render_report(outputs["wealth_manager"], inputs.ledger_until(day)[1]))
            reports.append(uri)
    latest = f"{days[-1].isoformat()}" if days else "none"
    for persona, key in PERSONA_KEYS.items():
        yield MaterializeResult(
            asset_key=key,
            metadata={
                "days": len(days),
                "latest_day": latest,
                "items": counts[persona],
                "simulated_data": inputs.simulated,
                "document": MetadataValue.path(
                    storage.uri("gold", "personas", "_documents", f"date={latest}", f"{persona}.json")
                ),
            },
        )
    yield MaterializeResult(
        asset_key=AUDIT_KEY,
        metadata={"added": audit_added, "table": MetadataValue.path(storage.uri("gold", *AUDIT_TABLE.path_parts()))},
    )
    yield MaterializeResult(
        asset_key=REPORT_KEY,
        metadata={
            "reports": len(reports),
            "latest": MetadataValue.path(reports[-1]) if reports else "none",
            "simulated_data": inputs.simulated,
        },
    )
