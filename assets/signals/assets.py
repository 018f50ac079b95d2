"""The daily signals asset: one partition per day, the window's signals replaced in gold/signals/daily."""

import pandas as pd
import pyarrow as pa
from dagster import AssetExecutionContext, AssetKey, BackfillPolicy, MaterializeResult, MetadataValue, asset

from assets.models.assets import EVALUATION, PREDICTIONS, REGIMES, stage_config
from assets.models.pipeline import load_inputs, run_signals
from assets.signals.table import SIGNALS, write_window
from pipelines.automation import decision_day_after_inputs
from pipelines.partitions import daily_partitions, window_of
from resources.lake.delta import overwrite_table, read_table
from resources.lake.resource import LakeResource

SIGNALS_KEY = AssetKey(["gold", "signals", "daily"])


@asset(
    key=SIGNALS_KEY,
    deps=[PREDICTIONS, REGIMES, EVALUATION],
    group_name="signals",
    automation_condition=decision_day_after_inputs(),
    kinds={"python", "delta"},
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    description=(
        "Signals per instrument, day and horizon (D+1..D+10): direction, calibrated probability, confidence, "
        "expected move and 80% interval, regime, rule signals, ensemble and confluence, capped-Kelly size, "
        "drawdown state, VaR, model version and feature snapshot hash (contract: assets/signals/contract.py)."
    ),
)
def daily_signals(context: AssetExecutionContext, lake: LakeResource) -> MaterializeResult:
    first, last = window_of(context)
    storage = lake.storage()
    config = stage_config()
    inputs = load_inputs(storage, config, until=last)
    predictions = read_table(storage, storage.uri("gold", "models", "oos_predictions")).to_pandas()
    predictions["trade_date"] = pd.to_datetime(predictions["trade_date"])
    predictions = predictions[predictions["trade_date"] <= pd.Timestamp(last)]
    regimes = read_table(storage, storage.uri("gold", "models", "regimes")).to_pandas()
    signals, weights = run_signals(inputs, predictions, regimes, config, run_id=context.run_id)
    weights = weights.assign(cutoff=pd.to_datetime(weights["cutoff"]).dt.date)
    overwrite_table(storage, storage.uri("gold", "models", "ensemble_weights"), pa.Table.from_pandas(weights))
    start = first or pd.Timestamp(signals["signal_date"].min()).date()
    stats = write_window(storage, signals, start, last)
    days = pd.to_datetime(signals["signal_date"])
    window = signals[(days >= pd.Timestamp(start)) & (days <= pd.Timestamp(last))]
    latest = window[window["signal_date"] == window["signal_date"].max()] if len(window) else window
    preview = latest[latest["horizon"] == 5][
        ["symbol", "direction", "probability", "confidence", "regime", "ensemble_score", "confluence", "size"]
    ]
    return MaterializeResult(
        metadata={
            "window": f"{start} .. {last}",
            "rows_written": stats.added,
            "table": MetadataValue.path(storage.uri(SIGNALS.zone, *SIGNALS.path_parts())),
            "latest_day": str(latest["signal_date"].max()) if len(latest) else "none",
            "latest_d5": MetadataValue.md(preview.round(3).to_markdown(index=False) if len(preview) else "(none)"),
        }
    )
