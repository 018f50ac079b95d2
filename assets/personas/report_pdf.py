"""The wealth manager's client PDF, "Market Intelligence Report", drawn with reportlab from a `WealthManagerOutput`.

Sections: Regime and confidence, Allocation adjustments (a table), Key signals, Risk factors, Charts (matplotlib
PNGs), then the audit references and a disclaimer. Every statement ends with a footnote-style reference [Rn]; the
references table maps each Rn to its full recommendation_id, the key of the audit trail. The bytes are
deterministic: reportlab's invariant mode, and the document dates set to the report date rather than the clock.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

import pandas as pd
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from assets.personas.charts import HEIGHT_IN, WIDTH_IN, render_chart, render_equity_chart
from assets.personas.common import pct, regime_words, signed_pct
from assets.personas.models import PersonaItem, WealthManagerOutput
from assets.personas.wealth_manager import class_label

SIMULATED_MARK = "SIMULATED DATA - not real market prices"
SIMULATED_NOTE = (
    "Every figure in this report comes from the Nexus simulated publisher, a synthetic market built to test the "
    "system. Prices, signals and allocations are not real and must not be used for investment decisions."
)
_SECTION_LABELS = {"regime": "Regime", "allocation": "Allocation", "key_signal": "Key signal", "risk_factor": "Risk"}
_SUBJECT_WORDS = {"var": "value at risk", "none": "no flags"}

PROBABILITY_NOTE = (
    "Probabilities are the signal's: the model's estimate adjusted to each market's own history of rises and "
    "falls, the ones its direction was decided on."
)


# Without it, "no signal is confident enough" beside overweights and underweights reads as a contradiction: the
# allocation tilts by the combined scores, which can lean one way while no outcome is more likely than not.
NO_KEY_SIGNALS = (
    "No signal is confident enough to be listed this week: for no instrument is one outcome more likely than not. "
    "The allocation's tilts above follow the combined scores (chart in section 5), which lean one way or the other "
    "even when no outcome is more likely than not."
)


def score_note(horizon: int) -> str:
    """What the allocation table's signal score is (wealth_manager.allocation_adjustments), in a client's words."""
    return (
        f"Signal score: for each instrument of the class, its {horizon}-day signal's combined score (the model's "
        "probability of a rise minus its probability of a fall, blended with the rule signals in proportion to how "
        "well each predicted in the past); the class's score is their average, each weighted by the signal's "
        "confidence (how far apart its probabilities of a rise and of a fall are). It runs from -1 (every signal a "
        "certain fall) to +1 (every signal a certain rise)."
    )


SECTIONS = (
    "1. Regime and confidence",
    "2. Allocation adjustments",
    "3. Key signals",
    "4. Risk factors",
    "5. Charts",
    "Audit references",
    "Disclaimer",
)
_MARK_RED = colors.HexColor("#b71c1c")
_GRID = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8.5),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3e8ef")),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (1, 1), (-2, -1), "RIGHT"),
    ]
)


def reference_map(output: WealthManagerOutput) -> dict[str, str]:
    """recommendation_id -> 'R<n>', numbered in reading order."""
    return {item.recommendation_id: f"R{i}" for i, item in enumerate(output.items(), start=1)}


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontSize=20, leading=24, alignment=TA_LEFT),
        "subtitle": ParagraphStyle(
            "subtitle", parent=base["Normal"], fontSize=10, textColor=colors.HexColor("#455a64")
        ),
        "h": ParagraphStyle("h", parent=base["Heading2"], fontSize=13, spaceBefore=10, spaceAfter=4, keepWithNext=1),
        "body": ParagraphStyle("body", parent=base["Normal"], fontSize=9.5, leading=13, spaceAfter=3),
        "small": ParagraphStyle(
            "small", parent=base["Normal"], fontSize=7.5, leading=9.5, textColor=colors.HexColor("#37474f")
        ),
    }


def _subject_label(item: PersonaItem) -> str:
    """The references table's subject in words: 'regime (crisis)', 'value at risk (BTC)', 'Currencies'."""
    if item.section == "allocation":
        return class_label(item.subject)
    head, _, rest = item.subject.partition(":")
    label = _SUBJECT_WORDS.get(head, head)
    if rest:
        label += f" ({regime_words(rest) if head == 'regime' else rest})"
    return label


def _statement(item: PersonaItem, refs: dict[str, str], style: ParagraphStyle) -> Paragraph:
    return Paragraph(f"{escape(item.text)} <font size=7 color='#546e7a'>[{refs[item.recommendation_id]}]</font>", style)


def _simulated_box(output: WealthManagerOutput, s: dict[str, ParagraphStyle]) -> list[object]:
    if not output.simulated_data:
        return []
    box = Table(
        [[Paragraph(f"<b>{SIMULATED_MARK}.</b> {escape(SIMULATED_NOTE)}", s["body"])]],
        colWidths=[17 * cm],
        hAlign="LEFT",
    )
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.0, _MARK_RED),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fdecea")),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("RIGHTPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return [box, Spacer(1, 0.2 * cm)]


def _draw_mark(canvas: Canvas) -> None:
    """The simulated-data mark on a page: a red band at the top and a faint diagonal watermark."""
    width, height = A4
    canvas.setFillColor(_MARK_RED)
    canvas.rect(0, height - 0.9 * cm, width, 0.9 * cm, stroke=0, fill=1)
    canvas.setFillColor(colors.white)
    canvas.setFont("Helvetica-Bold", 10)
    canvas.drawCentredString(width / 2, height - 0.6 * cm, SIMULATED_MARK)
    canvas.saveState()
    canvas.setFillColor(_MARK_RED)
    canvas.setFillAlpha(0.07)
    canvas.setFont("Helvetica-Bold", 64)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(45)
    canvas.drawCentredString(0, 0, "SIMULATED DATA")
    canvas.restoreState()


def _paper_book(output: WealthManagerOutput, ledger: pd.DataFrame | None, s: dict[str, ParagraphStyle]) -> list[object]:
    """The paper-trading ledger's equity and drawdown up to the report's day, when a ledger exists."""
    if ledger is None or ledger.empty:
        return []
    rows = ledger[pd.to_datetime(ledger["trade_date"]) <= pd.Timestamp(output.as_of)].dropna(subset=["equity"])
    if rows.empty:
        return []
    rows = rows.sort_values("trade_date", kind="stable")
    start, end = (pd.Timestamp(rows["trade_date"].iloc[i]).date().isoformat() for i in (0, -1))
    last, deepest = float(rows["equity"].iloc[-1]), float(rows["drawdown"].min())
    png = render_equity_chart(rows, "Paper portfolio of these signals: equity and fall below its peak")
    caption = (
        f"Paper (simulated) track record of the model's signals, after trading costs, {start} to {end}: "
        f"{signed_pct(last - 1.0, 1)} since the start, deepest fall {pct(-min(0.0, deepest), 1)} below the peak. "
        "No real money was traded; past results do not predict future ones."
    )
    image = Image(io.BytesIO(png), width=WIDTH_IN * 0.85 * 72, height=HEIGHT_IN * 0.85 * 72)
    return [KeepTogether([image, Paragraph(escape(caption), s["small"]), Spacer(1, 0.3 * cm)])]


def _story(output: WealthManagerOutput, refs: dict[str, str], ledger: pd.DataFrame | None = None) -> list[object]:
    s = _styles()
    story: list[object] = [
        Paragraph(escape(output.title), s["title"]),
        Paragraph(
            escape(
                f"Prepared for {output.client} - week of {output.week_start.isoformat()} to "
                f"{output.as_of.isoformat()}; "
                f"signals as of {output.as_of.isoformat()}, horizon {output.horizon} trading days"
            ),
            s["subtitle"],
        ),
        Spacer(1, 0.4 * cm),
        *_simulated_box(output, s),
        Paragraph(SECTIONS[0], s["h"]),
        _statement(output.regime, refs, s["body"]),
        Paragraph(SECTIONS[1], s["h"]),
    ]
    rows = [["Asset class", "Strategic", "Adjustment", "Target", "Stance", "Ref"]]
    for a in output.allocations:
        rows.append(
            [
                class_label(a.asset_class),
                pct(a.strategic_weight, 1),
                signed_pct(a.adjustment, 1) if a.adjustment else "0.0%",
                pct(a.target_weight, 1),
                a.action.capitalize(),
                refs[a.recommendation_id],
            ]
        )
    table = Table(rows, colWidths=[3.4 * cm, 2.3 * cm, 2.5 * cm, 2.3 * cm, 3.0 * cm, 1.4 * cm], hAlign="LEFT")
    table.setStyle(_GRID)
    story += [
        table,
        Spacer(1, 0.1 * cm),
        Paragraph(
            score_note(output.horizon) + " Weight that the strategy's drawdown guard or a risk-off regime takes "
            "from a class goes to cash, never to another risky class.",
            s["small"],
        ),
        Spacer(1, 0.2 * cm),
    ]
    story += [_statement(a, refs, s["body"]) for a in output.allocations]
    story.append(Paragraph(SECTIONS[2], s["h"]))
    story.append(Paragraph(PROBABILITY_NOTE, s["small"]))
    if output.key_signals:
        story += [_statement(k, refs, s["body"]) for k in output.key_signals]
    else:
        story.append(Paragraph(NO_KEY_SIGNALS, s["body"]))
    story.append(Paragraph(SECTIONS[3], s["h"]))
    story += [
        Paragraph(
            f"<b>{escape(r.severity.capitalize())}</b> - {escape(r.text)} "
            f"<font size=7 color='#546e7a'>[{refs[r.recommendation_id]}]</font>",
            s["body"],
        )
        for r in output.risk_factors
    ]
    story.append(Paragraph(SECTIONS[4], s["h"]))
    for chart in output.charts:
        cited = ", ".join(refs[r] for r in chart.refs if r in refs) or "-"
        png = render_chart(chart, with_title=False)
        image = Image(io.BytesIO(png), width=WIDTH_IN * 0.85 * 72, height=HEIGHT_IN * 0.85 * 72)
        story.append(
            KeepTogether(
                [
                    Paragraph(f"<b>{escape(chart.title)}</b>", s["body"]),
                    image,
                    Paragraph(f"{escape(chart.caption)} <font size=7 color='#546e7a'>[{cited}]</font>", s["small"]),
                    Spacer(1, 0.3 * cm),
                ]
            )
        )
    story += _paper_book(output, ledger, s)
    story.append(Paragraph(SECTIONS[5], s["h"]))
    story.append(
        Paragraph(
            "Each reference identifies one statement in the Nexus audit trail (gold/audit/recommendations), which "
            "records its inputs (signal rows, model versions, feature snapshot hashes), the rules that produced it "
            "and the run that published it.",
            s["small"],
        )
    )
    ref_rows = [["Ref", "Audit trail id (recommendation id)", "Section", "Subject"]]
    ref_rows += [
        [refs[i.recommendation_id], i.recommendation_id, _SECTION_LABELS.get(i.section, i.section), _subject_label(i)]
        for i in output.items()
    ]
    ref_table = Table(ref_rows, colWidths=[1.2 * cm, 7.6 * cm, 2.6 * cm, 3.6 * cm], hAlign="LEFT", repeatRows=1)
    ref_table.setStyle(
        TableStyle(
            [*_GRID.getCommands(), ("FONT", (1, 1), (1, -1), "Courier", 7.5), ("ALIGN", (0, 0), (-1, -1), "LEFT")]
        )
    )
    story += [ref_table, Paragraph(SECTIONS[6], s["h"]), Paragraph(escape(output.disclaimer), s["small"])]
    return story


def render_report(output: WealthManagerOutput, ledger: pd.DataFrame | None = None) -> bytes:
    """The PDF bytes of the report (same inputs, same bytes).

    `ledger`: the paper-trading ledger's portfolio rows (trade_date, equity, drawdown); rows after the report's
    day are ignored, and without rows the report has no paper-portfolio chart.
    """
    stamp = output.as_of.strftime("D:%Y%m%d000000+00'00'")
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=1.8 * cm,
        bottomMargin=1.8 * cm,
        title=f"{output.title} {output.as_of.isoformat()}",
        author="Nexus",
        subject=f"{output.title} for {output.client}, week ending {output.as_of.isoformat()}",
        creator="Nexus lakehouse (assets.personas.report_pdf)",
        keywords=["market intelligence", "wealth manager", output.as_of.isoformat()],
        invariant=1,
    )

    def page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.setDateFormatter(lambda *_: stamp)  # creation and modification dates: the report date
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.HexColor("#607d8b"))
        canvas.drawString(2 * cm, 1.1 * cm, f"Nexus - {output.title} - {output.as_of.isoformat()}")
        canvas.drawRightString(A4[0] - 2 * cm, 1.1 * cm, f"page {doc.page}")
        canvas.restoreState()
        if output.simulated_data:
            _draw_mark(canvas)

    doc.build(_story(output, reference_map(output), ledger), onFirstPage=page, onLaterPages=page)
    return buffer.getvalue()
