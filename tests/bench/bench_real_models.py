"""The model stage on the real publisher files (files mode): time, and the out-of-sample numbers as they are."""

from __future__ import annotations

import os
import time

from tests.bench.common import REAL_DATA_DIR, Figure, scratch


def run() -> list[Figure]:
    if not REAL_DATA_DIR.exists():
        print(f"  skipped: no real files at {REAL_DATA_DIR}")
        return []
    root = scratch()
    os.environ.update(
        NEXUS_SOURCE_MODE="files",
        NEXUS_FILES_DIR=str(REAL_DATA_DIR),
        NEXUS_LAKE_URI=str(root / "lake"),
        NEXUS_DUCKDB_PATH=str(root / "warehouse.duckdb"),
        NEXUS_PUBLISHED_DUCKDB_PATH=str(root / "published.duckdb"),
        DAGSTER_HOME=str(root / "dagster_home"),
    )
    from dagster import materialize

    from resources.lake.delta import read_table
    from resources.lake.resource import LakeResource
    from resources.lake.storage import LakeStorage
    from resources.marts_build import build_from_files
    from resources.settings import get_settings
    from resources.settings_resource import SettingsResource

    settings = get_settings()
    storage = LakeStorage.from_settings(settings)
    started = time.perf_counter()
    build_from_files(storage, settings, REAL_DATA_DIR, target_path=root / "target")
    figures = [Figure("real files: ingest + dbt run + publish", time.perf_counter() - started, "s")]

    from assets.models.assets import evaluation, oos_predictions, regimes

    started = time.perf_counter()
    result = materialize(
        [regimes, oos_predictions, evaluation],
        resources={
            "lake": LakeResource(lake_uri=storage.root_uri),
            "settings": SettingsResource.from_settings(settings),
        },
    )
    figures.append(
        Figure("real files: regimes + walk-forward (6 horizons) + evaluation", time.perf_counter() - started, "s")
    )
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    figures.append(Figure("real files: leak audit passed (1 = yes)", float(checks.get("leak_audit", False)), ""))
    metrics = read_table(storage, storage.uri("gold", "models", "evaluation")).to_pandas()
    for row in metrics[metrics["symbol"] == "ALL"].sort_values("horizon").itertuples():
        figures.append(
            Figure(
                f"real files D+{row.horizon} pooled: balanced accuracy x100 (n={row.n_directional})",
                100 * row.balanced_accuracy,
                "",
                f"hit {row.hit_rate:.3f} vs majority {row.hit_rate_majority:.3f}, mom. {row.hit_rate_momentum:.3f}; "
                f"IC {row.ic:.3f} (t {row.ic_t:.1f}); Brier {row.brier:.3f} vs {row.brier_climatology:.3f}; "
                f"Sharpe {row.sharpe:.2f} vs momentum {row.sharpe_momentum:.2f}",
            )
        )
    best = metrics[metrics["symbol"] != "ALL"].sort_values("balanced_accuracy", ascending=False).head(3)
    for row in best.itertuples():
        figures.append(
            Figure(
                f"real files best: D+{row.horizon} {row.symbol} balanced accuracy x100",
                100 * row.balanced_accuracy,
                "",
                f"n={row.n_directional}",
            )
        )
    return figures
