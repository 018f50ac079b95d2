"""Evaluation plots as PNG bytes (matplotlib's Agg backend, no files, no display): assets attach them as metadata
or put them in reports. Each figure is closed after rendering so a long run does not accumulate memory.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from assets.models.evaluation import POOLED, EvaluationReport
from assets.models.labels import CLASS_NAMES
from resources.lake.storage import LakeStorage

COLORS = {"DOWN": "#c0392b", "FLAT": "#7f8c8d", "UP": "#27ae60"}
STRATEGY_STYLE = {
    "signal": ("#1f4e79", "-"),
    "momentum": ("#e67e22", "--"),
    "long_only": ("#7f8c8d", ":"),
    "tsmom_12m": ("#8e44ad", "-."),
}


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _grid(n: int) -> tuple[Figure, np.ndarray]:
    cols = min(3, max(1, n))
    rows = int(np.ceil(n / cols)) if n else 1
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
    return fig, axes.ravel()


def reliability_png(report: EvaluationReport) -> bytes:
    """Reliability curves per horizon (pooled): observed frequency against mean predicted probability, per class."""
    frame = report.reliability_frame()
    horizons = sorted(frame["horizon"].unique()) if len(frame) else []
    fig, axes = _grid(len(horizons))
    for ax, h in zip(axes, horizons, strict=False):
        part = frame[frame["horizon"] == h]
        ax.plot([0, 1], [0, 1], color="black", lw=0.8, alpha=0.5)
        for cls in CLASS_NAMES:
            rows = part[part["cls"] == cls]
            ax.plot(rows["mean_predicted"], rows["observed"], marker="o", ms=3, color=COLORS[cls], label=cls)
        ax.set_title(f"D+{h}: reliability (pooled)")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("observed frequency")
        ax.legend(fontsize=7, loc="upper left")
    for ax in axes[len(horizons) :]:
        ax.axis("off")
    return _png(fig)


def ic_by_horizon_png(report: EvaluationReport) -> bytes:
    """Pooled Spearman IC per horizon with +/- 2 standard errors (overlap-adjusted: se = ic / t)."""
    frame = report.metrics_frame()
    pooled = frame[frame["symbol"] == POOLED].sort_values("horizon") if len(frame) else frame
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if len(pooled):
        ic = pooled["ic"].astype("float64").fillna(0.0).to_numpy()
        n_eff = pooled["ic_n_eff"].astype("float64").to_numpy()
        se = np.where(n_eff > 3, np.sqrt(np.clip(1 - ic**2, 0, None) / np.clip(n_eff - 2, 1, None)), np.nan)
        labels = [f"D+{h}" for h in pooled["horizon"]]
        ax.bar(labels, ic, yerr=2 * se, color=["#27ae60" if v > 0 else "#c0392b" for v in ic], capsize=4)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_title("Out-of-sample IC of p_up - p_down by horizon (pooled, +/- 2 se)")
    ax.set_ylabel("Spearman IC")
    return _png(fig)


def cumulative_returns_png(curves: pd.DataFrame) -> bytes:
    """Pooled cumulative returns of the signal against momentum, long-only and 12-month TSMOM, per horizon.

    `curves` is `evaluation.cumulative_returns(...)`.
    """
    horizons = sorted(curves["horizon"].unique()) if len(curves) else []
    fig, axes = _grid(len(horizons))
    for ax, h in zip(axes, horizons, strict=False):
        part = curves[curves["horizon"] == h]
        for name, rows in part.groupby("strategy", sort=False):
            color, style = STRATEGY_STYLE.get(str(name), ("black", "-"))
            ax.plot(pd.to_datetime(rows["trade_date"]), rows["cum_return"], color=color, ls=style, lw=1.1, label=name)
        ax.set_title(f"D+{h}: cumulative return after costs")
        ax.axhline(0, color="black", lw=0.6)
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        ax.legend(fontsize=7, loc="upper left")
    for ax in axes[len(horizons) :]:
        ax.axis("off")
    return _png(fig)


def evaluation_pngs(report: EvaluationReport, curves: pd.DataFrame) -> dict[str, bytes]:
    """All three plots by file-like name: reliability.png, ic_by_horizon.png, cumulative_returns.png."""
    return {
        "reliability.png": reliability_png(report),
        "ic_by_horizon.png": ic_by_horizon_png(report),
        "cumulative_returns.png": cumulative_returns_png(curves),
    }


def write_evaluation_plots(storage: LakeStorage, images: dict[str, bytes]) -> list[str]:
    """Write each plot under gold/models/evaluation_plots/ by its file name; returns the URIs written.

    Lakes built before the names carried their own extension hold the same plots as `<name>.png.png`; those
    copies are removed so a reader finds exactly one file per plot.
    """
    written = []
    for name, png in images.items():
        uri = storage.uri("gold", "models", "evaluation_plots", name)
        storage.write_bytes(uri, png)
        stale = f"{uri}.png"
        if storage.exists(stale):
            storage.filesystem.delete_file(storage.fs_path(stale))
        written.append(uri)
    return written


__all__ = [
    "cumulative_returns_png",
    "evaluation_pngs",
    "ic_by_horizon_png",
    "reliability_png",
    "write_evaluation_plots",
]
