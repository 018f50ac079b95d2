"""The daily signals asset: one partition per day, the window's signals replaced in gold/signals/daily."""

import base64
from collections.abc import Iterator
from datetime import date

import pandas as pd
import pyarrow as pa
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.automation import DAY_MARKER, after_inputs, decision_day_after_inputs
from assets.models.assets import (
    EVALUATION,
    MARTS_READ,
    PREDICTIONS,
    REGIMES,
    skipped_result,
    stage_config,
    stage_fingerprint,
)
from assets.models.pipeline import load_inputs
from assets.partitions import DECISION_DAY_PARTITION_MEANING, daily_partitions, window_of
from assets.signals.build import SignalConfig
from assets.signals.build_history import signals_history
from assets.signals.ledger import (
    PORTFOLIO,
    POSITIONS,
    LedgerConfig,
    build_ledger,
    ledger_png,
    ledger_summary,
    write_ledger,
)
from assets.signals.readiness import decision_day_gap
from assets.signals.scorecard import ORACLE_SET, lake_scorecard, oracle_capture
from assets.signals.stage import signal_config
from assets.signals.table import SIGNALS, write_window
from assets.skips import Window, skip_probe
from resources.lake.delta import overwrite_table, read_table
from resources.lake.resource import LakeResource
from resources.lake.stage_state import StageFingerprint, StageRecord, record_run, unchanged
from resources.lake.storage import LakeStorage
from resources.settings import Settings
from resources.settings_resource import SettingsResource

SIGNALS_KEY = AssetKey(["gold", "signals", "daily"])
SIGNALS_READ = [*MARTS_READ, ("models", "oos_predictions"), ("models", "regimes"), ("models", "evaluation")]
HISTORY_READ = [*MARTS_READ, ("models", "oos_predictions"), ("models", "regimes")]


def history_key(storage: LakeStorage, settings: Settings, signals_config: SignalConfig) -> str:
    """The key of the signals history built from the lake's current inputs (build_history.py): the versions of
    the tables the build reads, the code and the configuration."""
    extra = {"signals": signals_config.model_dump(mode="json")}
    return stage_fingerprint(storage, settings, "signals/history", HISTORY_READ, extra).digest()


def signals_state(
    storage: LakeStorage, settings: Settings, first: date | None, last: date
) -> tuple[StageFingerprint, list[str]]:
    signals_config = signal_config(settings.cost_bps, settings.decision_time_utc)
    extra = {"window": [str(first), str(last)], "signals": signals_config.model_dump(mode="json")}
    fingerprint = stage_fingerprint(storage, settings, "signals/daily", SIGNALS_READ, extra)
    outputs = [storage.uri(SIGNALS.zone, *SIGNALS.path_parts())] + [
        storage.uri("gold", "models", name) for name in ("ensemble_weights", "decision_thresholds")
    ]
    return fingerprint, outputs


@skip_probe("gold__signals__daily")
def signals_unchanged(storage: LakeStorage, settings: Settings, window: Window) -> StageRecord | None:
    return unchanged(storage, *signals_state(storage, settings, window.first, window.last))


@asset(
    key=SIGNALS_KEY,
    deps=[PREDICTIONS, REGIMES, EVALUATION, DAY_MARKER],
    group_name="signals",
    automation_condition=decision_day_after_inputs(),
    kinds={"python", "delta"},
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    output_required=False,  # no materialization while the decision day's rows are not in the inputs yet
    description=(
        "Signals per instrument, day and horizon (D+1..D+10): direction, calibrated probability, confidence, "
        "expected move and 80% interval, regime, rule signals, ensemble and confluence, capped-Kelly size, "
        "drawdown state, VaR, model version and feature snapshot hash (contract: assets/signals/contract.py). "
        + DECISION_DAY_PARTITION_MEANING
    ),
)
def daily_signals(
    context: AssetExecutionContext, lake: LakeResource, settings: SettingsResource
) -> Iterator[MaterializeResult | AssetObservation]:
    first, last = window_of(context)
    storage, current = lake.storage(), settings.get()
    signals_config = signal_config(current.cost_bps, current.decision_time_utc)
    fingerprint, outputs = signals_state(storage, current, first, last)
    if (record := unchanged(storage, fingerprint, outputs)) is not None:
        yield skipped_result(record)
        return
    config = stage_config(current)
    inputs = load_inputs(storage, config, until=last)
    predictions = read_table(storage, storage.uri("gold", "models", "oos_predictions")).to_pandas()
    predictions["trade_date"] = pd.to_datetime(predictions["trade_date"])
    predictions = predictions[predictions["trade_date"] <= pd.Timestamp(last)]
    if (gap := decision_day_gap(inputs.features, predictions, last)) is not None:
        # Not materialized: the day stays missing (so the automation retries it) and nothing downstream runs.
        context.log.info(f"day {last} not built: {gap}")
        yield AssetObservation(asset_key=SIGNALS_KEY, partition=last.isoformat(), metadata={"not_built": gap})
        return
    regimes = read_table(storage, storage.uri("gold", "models", "regimes")).to_pandas()
    key = history_key(storage, current, signals_config)
    history = signals_history(
        storage, key, inputs, predictions, regimes, signals_config, run_id=context.run_id, since=first
    )
    signals, weights, thresholds = history.signals, history.weights, history.thresholds
    for name, frame in (("ensemble_weights", weights), ("decision_thresholds", thresholds)):
        frame = frame.assign(cutoff=pd.to_datetime(frame["cutoff"]).dt.date)
        overwrite_table(storage, storage.uri("gold", "models", name), pa.Table.from_pandas(frame))
    start = first or pd.Timestamp(signals["signal_date"].min()).date()
    stats = write_window(storage, signals, start, last)
    days = pd.to_datetime(signals["signal_date"])
    window = signals[(days >= pd.Timestamp(start)) & (days <= pd.Timestamp(last))]
    latest = window[window["signal_date"] == window["signal_date"].max()] if len(window) else window
    preview = latest[latest["horizon"] == 5][
        ["symbol", "direction", "probability", "confidence", "regime", "ensemble_score", "confluence", "size"]
    ]
    record_run(storage, fingerprint, outputs, {"rows": stats.added})
    yield MaterializeResult(
        metadata={
            "skipped": "no: inputs changed",
            "history": "reused the scorecard's build" if history.reused else "built",
            "dagster/row_count": stats.added,
            "window": f"{start} .. {last}",
            "rows_written": stats.added,
            "table": MetadataValue.path(storage.uri(SIGNALS.zone, *SIGNALS.path_parts())),
            "latest_day": str(latest["signal_date"].max()) if len(latest) else "none",
            "latest_d5": MetadataValue.md(preview.round(3).to_markdown(index=False) if len(preview) else "(none)"),
        }
    )


SCORECARD_KEY = AssetKey(["gold", "models", "scorecard"])


def scorecard_state(storage: LakeStorage, settings: Settings) -> tuple[StageFingerprint, list[str]]:
    signals_config = signal_config(settings.cost_bps, settings.decision_time_utc)
    extra = {"signals": signals_config.model_dump(mode="json")}
    fingerprint = stage_fingerprint(storage, settings, "models/scorecard", SIGNALS_READ, extra)
    return fingerprint, [storage.uri(*SCORECARD_KEY.path)]


@skip_probe("gold__models__scorecard")
def scorecard_unchanged(storage: LakeStorage, settings: Settings, _: Window | None = None) -> StageRecord | None:
    return unchanged(storage, *scorecard_state(storage, settings))


@asset(
    key=SCORECARD_KEY,
    deps=[PREDICTIONS, REGIMES, EVALUATION],
    group_name="models",  # unpartitioned, over the whole history: it runs in models_job, not the daily signals job
    automation_condition=after_inputs(),
    kinds={"python", "delta"},
    description=(
        "Out-of-sample scorecard of every component (model, shipped signal, ensemble, each rule) beside the "
        "long-only and always-majority baselines and, on the simulated lake, the oracle of the generating process; "
        "hit rate, IC, Sharpe after NEXUS_COST_BPS per model, horizon and instrument (assets/signals/scorecard.py)."
    ),
)
def signals_scorecard(
    context: AssetExecutionContext, lake: LakeResource, settings: SettingsResource
) -> MaterializeResult:
    storage, current = lake.storage(), settings.get()
    signals_config = signal_config(current.cost_bps, current.decision_time_utc)
    fingerprint, outputs = scorecard_state(storage, current)
    if (record := unchanged(storage, fingerprint, outputs)) is not None:
        return skipped_result(record)
    seed = current.seed if current.source_mode == "simulated" else None
    key = history_key(storage, current, signals_config)
    card = lake_scorecard(storage, stage_config(current), signals_config, seed, key)
    overwrite_table(storage, storage.uri(*SCORECARD_KEY.path), pa.Table.from_pandas(card, preserve_index=False))
    pooled = card[card["symbol"] == (ORACLE_SET if seed is not None else "ALL")]
    shown = pooled[pooled["model"].isin(["lightgbm", "signal", "long_only", "majority", "oracle"])]
    capture = oracle_capture(card) if seed is not None else pd.DataFrame()
    record_run(storage, fingerprint, outputs, {"rows": len(card)})
    return MaterializeResult(
        metadata={
            "skipped": "no: inputs changed",
            "dagster/row_count": len(card),
            "pooled": MetadataValue.md(
                shown[["model", "horizon", "coverage", "hit_rate", "ic", "sharpe"]].round(3).to_markdown(index=False)
            ),
            "oracle_captured": MetadataValue.md(capture.round(3).to_markdown(index=False) if len(capture) else "n/a"),
        }
    )


LEDGER_KEY = AssetKey(["gold", "ledger", "positions"])


def ledger_state(
    storage: LakeStorage, settings: Settings, first: date | None, last: date
) -> tuple[StageFingerprint, list[str]]:
    reads = [MARTS_READ[0], SIGNALS.path_parts()]
    fingerprint = stage_fingerprint(storage, settings, "signals/ledger", reads, {"window": [str(first), str(last)]})
    return fingerprint, [storage.uri("gold", *spec.path_parts()) for spec in (POSITIONS, PORTFOLIO)]


@skip_probe("gold__ledger__positions")
def ledger_unchanged(storage: LakeStorage, settings: Settings, window: Window) -> StageRecord | None:
    return unchanged(storage, *ledger_state(storage, settings, window.first, window.last))


@asset(
    key=LEDGER_KEY,
    deps=[SIGNALS_KEY, DAY_MARKER],
    group_name="signals",
    automation_condition=decision_day_after_inputs(),
    kinds={"python", "delta"},
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    description=(
        "Paper-trading ledger of the D+5 signals: target positions, fills at the next close after the decision, "
        "costs (NEXUS_COST_BPS), P&L, equity and drawdown per instrument (gold/ledger/positions) and for the "
        "portfolio (gold/ledger/portfolio); the window's days replaced exactly (assets/signals/ledger.py). "
        + DECISION_DAY_PARTITION_MEANING
    ),
)
def paper_ledger(context: AssetExecutionContext, lake: LakeResource, settings: SettingsResource) -> MaterializeResult:
    first, last = window_of(context)
    storage, current = lake.storage(), settings.get()
    fingerprint, outputs = ledger_state(storage, current, first, last)
    if (record := unchanged(storage, fingerprint, outputs)) is not None:
        return skipped_result(record)
    config = stage_config(current)
    inputs = load_inputs(storage, config, until=last)
    signals = read_table(storage, SIGNALS, filters=[("signal_date", "<=", last)]).to_pandas()
    positions, portfolio = build_ledger(signals, inputs.features, LedgerConfig(cost_bps=current.cost_bps))
    start = first or (portfolio["trade_date"].min() if len(portfolio) else last)
    stats = write_ledger(storage, positions, portfolio, start, last)
    png = ledger_png(positions, portfolio) if len(portfolio) else b""
    if png:
        storage.write_bytes(storage.uri("gold", "models", "evaluation_plots", "ledger.png"), png)
    summary = ledger_summary(positions, portfolio)
    hit_rate = summary.pop("hit_rate_per_position_day")
    written = sum(s.added for s in stats.values())
    record_run(storage, fingerprint, outputs, {"rows": written})
    return MaterializeResult(
        metadata={
            "skipped": "no: inputs changed",
            "dagster/row_count": written,
            "window": f"{start} .. {last}",
            "rows_written": written,
            **summary,
            "hit_rate_per_position_day": MetadataValue.float(float("nan") if hit_rate is None else hit_rate),
            "plot": MetadataValue.md(
                f"![ledger](data:image/png;base64,{base64.b64encode(png).decode()})" if png else "(no days)"
            ),
        }
    )
