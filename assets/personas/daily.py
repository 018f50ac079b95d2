"""One day of persona outputs end to end: build all six, publish the gold tables, record the audit trail.

The assets the lead wires call these; tests and the benchmark call them without Dagster.
"""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa

from assets.personas.audit import record_recommendations
from assets.personas.casual_investor import build_casual_investor
from assets.personas.config import PersonasConfig
from assets.personas.hedge_fund import build_hedge_fund
from assets.personas.hedging_desk import build_hedging_desk
from assets.personas.inputs import PersonaInputs
from assets.personas.institutional import build_institutional
from assets.personas.models import PersonaName, PersonaOutput
from assets.personas.retail_trader import build_retail_trader
from assets.personas.tables import DATE_COLUMN, PERSONA_TABLES, output_rows, write_output
from assets.personas.wealth_manager import build_wealth_manager
from resources.lake.delta import MergeStats, replace_values
from resources.lake.storage import LakeStorage


def build_all(
    inputs: PersonaInputs, day: date, config: PersonasConfig | None = None
) -> dict[PersonaName, PersonaOutput]:
    """The six outputs for `day` (pure: same inputs and config, same outputs)."""
    config = config or PersonasConfig()
    outputs: dict[PersonaName, PersonaOutput] = {
        "hedging_desk": build_hedging_desk(inputs, day, config.hedging_desk),
        "institutional": build_institutional(inputs, day, config.institutional),
        "wealth_manager": build_wealth_manager(inputs, day, config.wealth_manager),
        "hedge_fund": build_hedge_fund(inputs, day, config.hedge_fund),
        "retail_trader": build_retail_trader(inputs, day, config.retail_trader),
        "casual_investor": build_casual_investor(inputs, day, config.casual_investor),
    }
    return {p: o.model_copy(update={"simulated_data": inputs.simulated}) for p, o in outputs.items()}


def publish(
    storage: LakeStorage,
    outputs: dict[PersonaName, PersonaOutput] | list[PersonaOutput],
    *,
    run_id: str,
    created_at: datetime | None = None,
) -> dict[str, MergeStats]:
    """Replace each persona table's partition for the day, then append new recommendations to the audit trail.

    The gold tables are written first: a crash in between leaves outputs without audit rows, which the re-run adds
    (the audit trail is keyed by content, so nothing is duplicated); never audit rows for unpublished outputs.
    """
    values = list(outputs.values()) if isinstance(outputs, dict) else list(outputs)
    stats = {f"personas/{o.persona}": write_output(storage, o) for o in values}
    stats["audit/recommendations"] = record_recommendations(storage, values, run_id=run_id, created_at=created_at)
    return stats


def publish_days(
    storage: LakeStorage,
    outputs_by_day: dict[date, dict[PersonaName, PersonaOutput]],
    *,
    run_id: str,
    created_at: datetime | None = None,
) -> dict[str, MergeStats]:
    """`publish` for many days at once: one Delta commit per table instead of one per table and day.

    Each persona table gets exactly the given days replaced (`replace_values` lists them, so a day between two
    of them that is not given stays as it is); then the audit trail gets every new recommendation in one insert.
    Same rows as publishing the days one by one, in the same order of writes (gold tables, then the trail).
    """
    days = sorted(outputs_by_day)
    if not days:
        return {}
    personas = list(outputs_by_day[days[0]])
    stats: dict[str, MergeStats] = {}
    for persona in personas:
        spec = PERSONA_TABLES[persona]
        tables = [output_rows(outputs_by_day[day][persona]) for day in days]
        rows = pa.concat_tables(tables)
        stats[f"personas/{persona}"] = replace_values(storage, spec, rows, column=DATE_COLUMN, values=days)
    everything = [output for day in days for output in outputs_by_day[day].values()]
    stats["audit/recommendations"] = record_recommendations(storage, everything, run_id=run_id, created_at=created_at)
    return stats
