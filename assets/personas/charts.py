"""Charts of the wealth-manager report: a `ChartSpec` (data only) drawn to PNG bytes with matplotlib's Agg backend.

Drawing is deterministic: fixed size and DPI, no timestamps or software tag in the PNG metadata, so the same spec
gives the same bytes and the PDF built from them is reproducible.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

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


def render_chart(spec: ChartSpec) -> bytes:
    """PNG bytes of one chart."""
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)  # not pyplot: no global figure registry to leak into
    (_bar if spec.kind == "bar" else _line)(fig, spec)
    fig.suptitle(spec.title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def render_charts(specs: list[ChartSpec]) -> dict[str, bytes]:
    return {spec.chart_id: render_chart(spec) for spec in specs}
