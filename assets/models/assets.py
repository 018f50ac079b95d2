"""Model-stage assets: regimes, walk-forward predictions (with the model store) and the evaluation with its checks.

Each asset recomputes its table in full from the published marts (fits are cached by their inputs, so a re-run
with unchanged inputs reuses every fit and produces identical tables).
"""

import base64
import json
import time

import pandas as pd
import pyarrow as pa
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.automation import after_inputs
from assets.models.evaluation import EvaluationConfig, load_leak_audits
from assets.models.labels import LabelConfig
from assets.models.oracle_cache import cached_oracle_scores
from assets.models.pipeline import (
    ModelStageConfig,
    hmm_overlay_reference,
    horizon_rows,
    load_inputs,
    predictions_frame,
    regimes_table,
    run_evaluation,
    run_regimes,
    run_walk_forward,
)
from assets.skips import Window, skip_probe
from resources.lake.delta import overwrite_table, read_table
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

FEATURES = AssetKey(["gold", "marts", "fct_features_daily"])
LABELS = AssetKey(["gold", "marts", "fct_labels_daily"])
REGIMES = AssetKey(["gold", "models", "regimes"])
PREDICTIONS = AssetKey(["gold", "models", "oos_predictions"])
EVALUATION = AssetKey(["gold", "models", "evaluation"])


def stage_config(settings: Settings) -> ModelStageConfig:
    """The model stage's configuration for these settings (decision time, costs, audited leak groups)."""
    labels = LabelConfig(decision_time_utc=settings.decision_time_utc)
    shipped = ModelStageConfig()
    return ModelStageConfig(
        walk_forward=shipped.walk_forward.model_copy(update={"labels": labels}),
        evaluation=EvaluationConfig(
            cost_bps=settings.cost_bps,
            leak_audited=load_leak_audits(settings.leak_audits_file, settings.source_mode),
            labels=labels,
        ),
    )


def _uri(storage, *parts: str) -> str:  # noqa: ANN001
    return storage.uri("gold", "models", *parts)


MARTS_READ = [("marts", "fct_features_daily"), ("marts", "fct_labels_daily")]


def stage_fingerprint(
    storage: LakeStorage, settings: Settings, stage: str, reads: list[tuple[str, ...]], extra: dict | None = None
) -> StageFingerprint:
    """A model or signal stage's inputs: the gold tables it reads, the model and signal code, the stage config
    and the settings it reads (source mode and seed decide the planted-effects check and the oracle)."""
    return StageFingerprint(
        stage=stage,
        inputs=table_versions(storage, [storage.uri("gold", *parts) for parts in reads]),
        code=code_hash("assets.models", "assets.signals"),
        config=config_hash(
            {
                "stage": stage_config(settings).model_dump(mode="json"),
                "source_mode": settings.source_mode,
                "seed": settings.seed,
                **(extra or {}),
            }
        ),
    )


def regimes_state(storage: LakeStorage, settings: Settings) -> tuple[StageFingerprint, list[str]]:
    return stage_fingerprint(storage, settings, "models/regimes", MARTS_READ[:1]), [_uri(storage, "regimes")]


def predictions_state(storage: LakeStorage, settings: Settings) -> tuple[StageFingerprint, list[str]]:
    fingerprint = stage_fingerprint(storage, settings, "models/oos_predictions", MARTS_READ)
    return fingerprint, [_uri(storage, "oos_predictions"), _uri(storage, "cutoffs")]


def evaluation_state(storage: LakeStorage, settings: Settings) -> tuple[StageFingerprint, list[str]]:
    reads = [*MARTS_READ, ("models", "oos_predictions")]
    fingerprint = stage_fingerprint(storage, settings, "models/evaluation", reads)
    tables = ("evaluation", "reliability", "reference_strategies", "planted_effects")
    return fingerprint, [_uri(storage, name) for name in tables]


@skip_probe("gold__models__regimes")
def regimes_unchanged(storage: LakeStorage, settings: Settings, _: Window | None = None) -> StageRecord | None:
    return unchanged(storage, *regimes_state(storage, settings))


@skip_probe("gold__models__oos_predictions")
def predictions_unchanged(storage: LakeStorage, settings: Settings, _: Window | None = None) -> StageRecord | None:
    return unchanged(storage, *predictions_state(storage, settings))


@skip_probe("gold__models__evaluation")
def evaluation_unchanged(storage: LakeStorage, settings: Settings, _: Window | None = None) -> StageRecord | None:
    """Left out from outside only while its blocking checks passed: a failed leak audit must fail the run again."""
    record = unchanged(storage, *evaluation_state(storage, settings))
    checks = [] if record is None else record.summary.get("checks", [])
    failed = [c for c in checks if not c["passed"] and c["severity"] == AssetCheckSeverity.ERROR.value]
    return None if failed else record


def skipped_result(record: StageRecord) -> MaterializeResult:
    """What a stage whose inputs have not changed reports: it wrote nothing; its tables are as last built."""
    return MaterializeResult(metadata={"skipped": SKIPPED, "rows_in_table": int(record.summary.get("rows", 0))})


@asset(
    key=REGIMES,
    deps=[FEATURES],
    group_name="models",
    automation_condition=after_inputs(),
    kinds={"python", "delta"},
    description=(
        "Gaussian HMM regimes per instrument (2-4 states by BIC, yearly expanding refits, forward-filtered "
        "posteriors), named STRONG_BULL..CRISIS/RECOVERY with stable labels across refits."
    ),
)
def regimes(context: AssetExecutionContext, lake: LakeResource, settings: SettingsResource) -> MaterializeResult:
    storage = lake.storage()
    fingerprint, outputs = regimes_state(storage, settings.get())
    if (record := unchanged(storage, fingerprint, outputs)) is not None:
        return skipped_result(record)
    config = stage_config(settings.get())
    inputs = load_inputs(storage, config)
    started = time.perf_counter()
    result = run_regimes(storage, inputs.features, config)
    table = regimes_table(result.frame)
    overwrite_table(storage, _uri(storage, "regimes"), table)
    fits = pd.DataFrame(
        [{"symbol": f.symbol, "fit_date": str(f.fit_date), "n_states": f.n_states} for f in result.fits]
    )
    latest = result.frame.sort_values("trade_date").groupby("symbol").tail(1)
    record_run(storage, fingerprint, outputs, {"rows": table.num_rows})
    return MaterializeResult(
        metadata={
            "skipped": "no: inputs changed",
            "dagster/row_count": table.num_rows,
            "fits": len(result.fits),
            "seconds": round(time.perf_counter() - started, 1),
            "states_chosen": MetadataValue.json(fits.groupby("n_states").size().to_dict() if len(fits) else {}),
            "regime_share": MetadataValue.json(result.frame["regime"].value_counts(normalize=True).round(3).to_dict()),
            "latest": MetadataValue.md(
                latest[["symbol", "trade_date", "regime", "confidence"]].to_markdown(index=False)
            ),
        }
    )


@asset(
    key=PREDICTIONS,
    deps=[FEATURES, LABELS],
    group_name="models",
    automation_condition=after_inputs(),
    kinds={"lightgbm", "delta"},
    description=(
        "Out-of-sample walk-forward predictions for D+1..D+10: pooled LightGBM per horizon, half-yearly expanding "
        "cutoffs, purged and embargoed, calibrated on held-out folds; every model versioned in the model store."
    ),
)
def oos_predictions(
    context: AssetExecutionContext, lake: LakeResource, settings: SettingsResource
) -> MaterializeResult:
    storage = lake.storage()
    fingerprint, outputs = predictions_state(storage, settings.get())
    if (record := unchanged(storage, fingerprint, outputs)) is not None:
        return skipped_result(record)
    config = stage_config(settings.get())
    inputs = load_inputs(storage, config)
    started = time.perf_counter()
    results = run_walk_forward(storage, inputs, config)
    predictions = predictions_frame(results)
    if predictions.empty:
        dates = pd.to_datetime(inputs.features["trade_date"]) if len(inputs.features) else pd.Series(dtype="M8[ns]")
        span = f"{dates.min().date()} → {dates.max().date()}" if len(dates) else "no feature rows"
        raise Failure(
            description=(
                f"no walk-forward model could be trained: the marts hold {span}, and the first model needs "
                f"{config.walk_forward.min_train_years:g} years of history before its cutoff. Ingest an earlier start."
            )
        )
    table = predictions.assign(
        trade_date=pd.to_datetime(predictions["trade_date"]).dt.date,
        cutoff=pd.to_datetime(predictions["cutoff"]).dt.date,
    )
    overwrite_table(storage, _uri(storage, "oos_predictions"), pa.Table.from_pandas(table, preserve_index=False))
    # timings stay out of the table: a re-run with the same inputs must leave it unchanged
    cutoffs = [c.model_dump(mode="json", exclude={"fit_seconds"}) for r in results.values() for c in r.cutoffs]
    if cutoffs:
        overwrite_table(storage, _uri(storage, "cutoffs"), pa.Table.from_pylist(cutoffs))
    per_horizon = {
        f"D+{h}": {"models": len(r.cutoffs), "predictions": len(r.predictions), "seconds": round(r.seconds, 1)}
        for h, r in results.items()
    }
    record_run(storage, fingerprint, outputs, {"rows": len(table)})
    return MaterializeResult(
        metadata={
            "skipped": "no: inputs changed",
            "dagster/row_count": len(table),
            "seconds": round(time.perf_counter() - started, 1),
            "horizons": MetadataValue.json(per_horizon),
            "latest_models": MetadataValue.json(
                {f"D+{h}": r.cutoffs[-1].model_version for h, r in results.items() if r.cutoffs}
            ),
        }
    )


@asset(
    key=EVALUATION,
    deps=[PREDICTIONS, FEATURES, LABELS],
    group_name="models",
    automation_condition=after_inputs(),
    kinds={"python", "delta"},
    description=(
        "Honest out-of-sample evidence per horizon and instrument: balanced accuracy, hit rate vs majority and "
        "momentum baselines, Spearman IC and t, Brier and reliability, Sharpe after costs; TSMOM and a 2-state "
        "HMM overlay as references; the planted effects measured from the marts."
    ),
    check_specs=[
        AssetCheckSpec(
            "leak_audit",
            asset=EVALUATION,
            blocking=True,
            description=(
                "Out-of-sample directional balanced accuracy above what the simulated world's generating process "
                "reaches (its oracle + 3 standard errors, on the instruments it covers), else above 60%, means a leak."
            ),
        ),
        AssetCheckSpec(
            "planted_effects_recovered",
            asset=EVALUATION,
            description="Simulated mode: each planted effect found with its sign and size within tolerance.",
        ),
    ],
)
def evaluation(context: AssetExecutionContext, lake: LakeResource, settings: SettingsResource):  # noqa: ANN201
    storage = lake.storage()
    fingerprint, outputs = evaluation_state(storage, settings.get())
    if (record := unchanged(storage, fingerprint, outputs)) is not None:
        yield skipped_result(record)
        for check in record.summary.get("checks", []):  # their inputs are unchanged, so their results still hold
            yield AssetCheckResult(
                check_name=check["check_name"],
                passed=check["passed"],
                severity=AssetCheckSeverity(check["severity"]),
                metadata={"skipped": SKIPPED, "carried_from": "the last evaluation of the same inputs"},
                description=check["description"],
            )
        return
    config = stage_config(settings.get())
    inputs = load_inputs(storage, config)
    predictions = read_table(storage, _uri(storage, "oos_predictions")).to_pandas()
    predictions["trade_date"] = pd.to_datetime(predictions["trade_date"])
    predictions["cutoff"] = pd.to_datetime(predictions["cutoff"])
    labelled = horizon_rows(inputs, predictions, config)  # shared by the metrics and the return curves
    current = settings.get()
    oracle_seed = current.seed if current.source_mode == "simulated" else None
    oracle = None
    if oracle_seed is not None:  # kept in the lake: the scorecard's step reads it instead of building the world
        oracle = cached_oracle_scores(storage, oracle_seed, tuple(sorted(labelled)))
    report, planted = run_evaluation(inputs, predictions, config, labelled, oracle_seed, oracle)
    metrics = report.metrics_frame()
    overwrite_table(storage, _uri(storage, "evaluation"), pa.Table.from_pandas(metrics, preserve_index=False))
    overwrite_table(
        storage, _uri(storage, "reliability"), pa.Table.from_pandas(report.reliability_frame(), preserve_index=False)
    )
    reference = [r.model_dump() for r in report.reference] + [hmm_overlay_reference(storage, inputs.features, config)]
    overwrite_table(
        storage,
        _uri(storage, "reference_strategies"),
        pa.Table.from_pylist(
            [{k: (json.dumps(v) if isinstance(v, dict | list) else v) for k, v in r.items()} for r in reference]
        ),
    )
    overwrite_table(storage, _uri(storage, "planted_effects"), pa.Table.from_pylist([p.model_dump() for p in planted]))

    from assets.models.evaluation import cumulative_returns

    curves = cumulative_returns(predictions, inputs.features, inputs.labels, config.evaluation, labelled)
    from assets.models.plots import evaluation_pngs, write_evaluation_plots  # matplotlib: not with the definitions

    images = evaluation_pngs(report, curves)
    markdown = []
    for (name, png), uri in zip(images.items(), write_evaluation_plots(storage, images), strict=True):
        markdown.append(f"**{name}** ({uri})\n\n![{name}](data:image/png;base64,{base64.b64encode(png).decode()})")
    pooled = metrics[metrics["symbol"] == "ALL"][
        [
            "horizon",
            "n",
            "balanced_accuracy",
            "hit_rate",
            "hit_rate_majority",
            "hit_rate_momentum",
            "ic",
            "ic_t",
            "brier",
            "brier_climatology",
            "sharpe",
        ]
    ].round(4)
    checks = _evaluation_checks(report.leak_audit, planted, current.source_mode)
    record_run(
        storage,
        fingerprint,
        outputs,
        {
            "rows": len(metrics),
            "checks": [
                {k: c[k] for k in ("check_name", "passed", "description")} | {"severity": c["severity"].value}
                for c in checks
            ],
        },
    )
    yield MaterializeResult(
        metadata={
            "skipped": "no: inputs changed",
            "dagster/row_count": len(metrics),
            "pooled": MetadataValue.md(pooled.to_markdown(index=False)),
            "max_balanced_accuracy": report.leak_audit.max_balanced_accuracy,
            "plots": MetadataValue.md("\n\n".join(markdown)),
            "planted_effects": MetadataValue.md(
                pd.DataFrame([p.model_dump() for p in planted]).round(5).to_markdown(index=False)
            ),
        }
    )
    for check in checks:
        yield AssetCheckResult(**check)


def _evaluation_checks(audit, planted, source_mode: str) -> list[dict]:  # noqa: ANN001
    """The evaluation's two checks as AssetCheckResult arguments (kept so a skipped re-run can report them)."""
    simulated = source_mode == "simulated"
    missed = [p.name for p in planted if not p.recovered]
    unmeasured = [p.name for p in planted if p.n == 0]
    if not simulated:
        note = "not simulated data: planted effects do not apply"
    elif unmeasured:
        note = f"not measurable on this history (too short; e.g. 5-year seasonal averages): {', '.join(unmeasured)}"
    else:
        note = None
    leak = {
        "check_name": "leak_audit",
        "passed": not audit.flagged,
        "severity": AssetCheckSeverity.ERROR,
        "metadata": {
            "threshold": audit.threshold,
            "max": audit.max_balanced_accuracy or 0.0,
            "offenders": MetadataValue.json(audit.offenders),
            "acknowledged_after_audit": MetadataValue.json(audit.acknowledged),
            "within_noise": MetadataValue.json(audit.within_noise),
        },
        "description": None if not audit.flagged else "balanced accuracy above the threshold: audit for a leak",
    }
    effects = {
        "check_name": "planted_effects_recovered",
        "passed": (not missed) if simulated else True,
        "severity": AssetCheckSeverity.WARN,
        "metadata": {
            "mode": source_mode,
            "missed": MetadataValue.json(missed),
            "measured": MetadataValue.md(
                pd.DataFrame([p.model_dump() for p in planted])[
                    ["name", "expected", "tolerance", "measured", "n", "recovered"]
                ].to_markdown(index=False)
            ),
        },
        "description": note,
    }
    return [leak, effects]
