"""Charts of the wealth-manager report: a `ChartSpec` (data only) drawn to PNG bytes with matplotlib's Agg backend.

Drawing is deterministic: fixed size and DPI, no timestamps or software tag in the PNG metadata, so the same spec
gives the same bytes and the PDF built from them is reproducible.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.figure import Figure

from assets.personas.models import ChartSpec

WIDTH_IN, HEIGHT_IN, DPI = 7.0, 3.0, 110
POSITIVE, NEGATIVE, NEUTRAL = "#2e7d32", "#c62828", "#455a64"
PALETTE = ("#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#5d4037")


def _bar(fig: Figure, spec: ChartSpec) -> None:
    ax = fig.add_subplot(1, 1, 1)
    name, values = next(iter(spec.series.items()))
    clean = [0.0 if v is None else float(v) for v in values]
    colors = [POSITIVE if v > 0 else NEGATIVE if v < 0 else NEUTRAL for v in clean]
    ax.bar(range(len(clean)), clean, color=colors)
    ax.set_xticks(range(len(clean)), spec.labels, rotation=0 if len(clean) <= 8 else 45, fontsize=8)
    ax.axhline(0, color="#212121", linewidth=0.8)
    ax.set_ylabel(spec.y_label or name.replace("_", " "), fontsize=8)
    ax.tick_params(axis="y", labelsize=8)


def _parts(fig: Figure, spec: ChartSpec) -> None:
    """The first series as a marker per label (the total a decision uses), the others stacked as bars below it
    (its parts: positive parts stack upwards from zero, negative ones downwards), so a reader sees both."""
    ax = fig.add_subplot(1, 1, 1)
    (total_name, total), *parts = spec.series.items()
    x = list(range(len(spec.labels)))
    up, down = [0.0] * len(x), [0.0] * len(x)
    for i, (name, values) in enumerate(parts):
        clean = [0.0 if v is None else float(v) for v in values]
        bottoms = [u if v >= 0 else d for v, u, d in zip(clean, up, down, strict=True)]
        ax.bar(x, clean, bottom=bottoms, color=PALETTE[i % len(PALETTE)], width=0.6, label=name.replace("_", " "))
        up = [u + max(v, 0.0) for v, u in zip(clean, up, strict=True)]
        down = [d + min(v, 0.0) for v, d in zip(clean, down, strict=True)]
    points = [float("nan") if v is None else float(v) for v in total]
    ax.scatter(x, points, marker="D", s=28, color="#212121", zorder=3, label=total_name.replace("_", " "))
    ax.set_xticks(x, spec.labels, rotation=0 if len(x) <= 8 else 45, fontsize=8)
    ax.axhline(0, color="#212121", linewidth=0.8)
    ax.set_ylabel(spec.y_label or total_name.replace("_", " "), fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.legend(fontsize=7, ncols=len(spec.series), loc="best", frameon=False)
    ax.grid(axis="y", alpha=0.3)


def _line(fig: Figure, spec: ChartSpec) -> None:
    ax = fig.add_subplot(1, 1, 1)
    x = list(range(len(spec.labels)))
    for i, (name, values) in enumerate(spec.series.items()):
        ax.plot(
            x,
            [float("nan") if v is None else v for v in values],
            label=name,
            color=PALETTE[i % len(PALETTE)],
            linewidth=1.4,
        )
    ticks = x[:: max(1, len(x) // 6)]
    ax.set_xticks(ticks, [spec.labels[i] for i in ticks], fontsize=7)
    ax.tick_params(axis="y", labelsize=8)
    ax.legend(fontsize=7, ncols=min(5, len(spec.series)), loc="upper left", frameon=False)
    ax.grid(alpha=0.3)


_DRAW = {"bar": _bar, "parts": _parts, "line": _line}


def render_chart(spec: ChartSpec, *, with_title: bool = True) -> bytes:
    """PNG bytes of one chart (`with_title=False` where the page prints the title as text a reader can search)."""
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)  # not pyplot: no global figure registry to leak into
    _DRAW[spec.kind](fig, spec)
    if with_title:
        fig.suptitle(spec.title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def render_charts(specs: list[ChartSpec]) -> dict[str, bytes]:
    return {spec.chart_id: render_chart(spec) for spec in specs}


def render_equity_chart(portfolio: pd.DataFrame, title: str) -> bytes:
    """PNG bytes of the paper book's equity (top) and its drawdown below the running peak (bottom).

    `portfolio`: trade_date, equity, drawdown (the gold ledger's portfolio rows, already cut at the report's day).
    """
    days = pd.to_datetime(portfolio["trade_date"])
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    top.plot(days, portfolio["equity"].astype(float), color=PALETTE[0], linewidth=1.4)
    top.axhline(1.0, color="#212121", linewidth=0.6)
    top.set_ylabel("equity (start 1.0)", fontsize=8)
    bottom.fill_between(days, 100 * portfolio["drawdown"].astype(float), 0, color=NEGATIVE, alpha=0.5, linewidth=0)
    bottom.set_ylabel("below peak (%)", fontsize=8)
    for ax in (top, bottom):
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    locator = mdates.AutoDateLocator(maxticks=7)
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
