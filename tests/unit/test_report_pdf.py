"""The wealth manager's PDF, read back with a PDF reader: sections in order, the allocation table, the charts as
embedded images, a reference on every statement that resolves to the audit trail, fixed metadata, same bytes."""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pypdf
import pytest

from assets.personas.audit import read_audit, record_recommendations
from assets.personas.common import codes_in
from assets.personas.daily import build_all
from assets.personas.inputs import PersonaInputs
from assets.personas.report_pdf import (
    PROBABILITY_NOTE,
    SECTIONS,
    SIMULATED_MARK,
    reference_map,
    render_report,
    score_note,
)
from assets.personas.tables import output_json
from assets.personas.wealth_manager import build_wealth_manager, class_label
from resources.lake.provenance import is_simulated, record_mode
from tests.unit.test_personas_inputs import DAY, make_inputs


@pytest.fixture(scope="module")
def inputs() -> PersonaInputs:
    return make_inputs()


@pytest.fixture(scope="module")
def report(inputs):
    return build_wealth_manager(inputs, DAY)


@pytest.fixture(scope="module")
def pdf(report) -> bytes:
    return render_report(report)


@pytest.fixture(scope="module")
def reader(pdf) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


@pytest.fixture(scope="module")
def text(reader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_is_a_pdf_with_the_expected_sections_in_order(pdf, text):
    assert pdf.startswith(b"%PDF-")
    assert "Market Intelligence Report" in text
    positions = [text.find(section) for section in SECTIONS]
    assert all(p >= 0 for p in positions), dict(zip(SECTIONS, positions, strict=True))
    assert positions == sorted(positions)


def test_content_of_each_section(report, text):
    flat = _flat(text)
    assert "fairly confident that the S&P 500 index is in a bull regime (0.72" in flat
    assert "probability of 72%" not in flat
    # the key signals' probabilities are named for what they are: the signal's, the ones the decision used
    assert _flat(PROBABILITY_NOTE) in flat
    assert "trading days the signal" in flat and "the model sees" not in flat
    for header in ("Asset class", "Strategic", "Adjustment", "Target", "Stance"):
        assert header in text
    # the allocation footnote says what the signal score is: which signals, which score, which weights
    assert _flat(score_note(report.horizon)) in flat and f"its {report.horizon}-day signal's combined score" in flat
    assert "confidence-weighted average model score" not in flat
    for a in report.allocations:
        assert class_label(a.asset_class) in text
    for k in report.key_signals:
        assert _flat(k.text)[:40] in flat
    for r in report.risk_factors:
        assert _flat(r.text)[:40] in flat
    assert "not a personal recommendation" in flat and "past performance" in flat


def test_charts_are_embedded_images(report, reader):
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == len(report.charts) == 3
    for image in images:
        assert image.image.size[0] > 300 and image.image.size[1] > 100  # decodable raster, not a placeholder


def test_every_statement_has_a_reference_that_resolves_to_the_audit_trail(storage, report, text):
    refs = reference_map(report)
    flat = _flat(text)
    for item in report.items():
        ref = refs[item.recommendation_id]
        assert f"[{ref}]" in flat, (ref, item.text)
        assert item.recommendation_id in flat  # the references table prints every full id
    printed_ids = set(re.findall(r"\b[0-9a-f]{32}\b", flat))
    assert printed_ids == set(refs)
    record_recommendations(storage, report, run_id="weekly-report-run")
    audit_ids = set(read_audit(storage, persona="wealth_manager", as_of=DAY)["recommendation_id"].to_pylist())
    assert printed_ids <= audit_ids  # every statement in the PDF is traceable


def test_chart_captions_cite_what_they_show(report, text):
    refs = reference_map(report)
    flat = _flat(text)
    for chart in report.charts:
        cited = ", ".join(refs[r] for r in chart.refs)
        assert f"[{cited}]" in flat


def test_metadata_is_fixed_and_the_bytes_are_deterministic(report, pdf, reader):
    meta = reader.metadata
    assert meta.title == f"Market Intelligence Report {DAY.isoformat()}"
    assert meta.author == "Nexus"
    assert meta.creation_date.date() == DAY and meta.modification_date.date() == DAY
    assert render_report(report) == pdf


# ------------------------------------------------------------------------------------- simulated data, wording
def _simulated_lake_outputs(storage, inputs):
    """The outputs of a day whose lake records a simulated source, read the way the asset reads it."""
    record_mode(storage, "fred", "simulated")
    simulated = inputs.model_copy(update={"simulated": is_simulated(storage)})
    return build_all(simulated, DAY)


def test_every_page_carries_the_simulated_mark_when_the_lake_is_simulated(storage, inputs):
    outputs = _simulated_lake_outputs(storage, inputs)
    assert all(o.simulated_data for o in outputs.values())
    assert all(json.loads(output_json(o))["simulated_data"] is True for o in outputs.values())
    reader = pypdf.PdfReader(io.BytesIO(render_report(outputs["wealth_manager"])))
    assert len(reader.pages) >= 2
    for number, page in enumerate(reader.pages, start=1):
        assert SIMULATED_MARK in page.extract_text(), f"page {number} has no simulated-data mark"
    first = _flat(reader.pages[0].extract_text())
    assert "must not be used for investment decisions" in first


def test_no_mark_for_a_lake_without_simulated_sources(storage, inputs, report, text):
    record_mode(storage, "cboe", "files")
    assert not is_simulated(storage)
    outputs = build_all(inputs.model_copy(update={"simulated": is_simulated(storage)}), DAY)
    assert not outputs["wealth_manager"].simulated_data and not report.simulated_data
    assert "SIMULATED" not in text.upper() and "simulated publisher" not in text


def test_no_internal_code_anywhere_in_the_pdf(storage, inputs, text):
    guarded = inputs.signals.copy()
    today = guarded["signal_date"] == pd.Timestamp(DAY)
    states = {"BTC": "STOP_TRADING", "SPX": "REDUCE_50", "WTI": "REDUCE_75"}
    guarded.loc[today, "drawdown_state"] = guarded.loc[today, "symbol"].map(lambda sym: states.get(sym, "FULL_SIZE"))
    guarded.loc[today & (guarded["symbol"] == "SPX"), "regime"] = "STRONG_BEAR"
    outputs = build_all(inputs.model_copy(update={"signals": guarded, "simulated": True}), DAY)
    reader = pypdf.PdfReader(io.BytesIO(render_report(outputs["wealth_manager"])))
    for pdf_text in (text, "\n".join(page.extract_text() for page in reader.pages)):
        flat = _flat(pdf_text)
        assert codes_in(flat) == [], codes_in(flat)
        for phrase in ("leans higher", "leans lower", "probability of 100%", "with a probability of"):
            assert phrase not in flat
    flat = _flat("\n".join(page.extract_text() for page in reader.pages))
    assert "strong bear regime" in flat and "trading paused" in flat and "position size halved" in flat
    assert "cut by three quarters" in flat


def test_paper_portfolio_chart_when_a_ledger_exists(report, pdf):
    days = pd.bdate_range(end=DAY, periods=30)
    pnl = pd.Series([0.004, -0.006, 0.003] * 10)
    ledger = pd.DataFrame({"trade_date": days.date, "equity": (1 + pnl).cumprod()})
    ledger["drawdown"] = ledger["equity"] / ledger["equity"].cummax() - 1
    later = pd.DataFrame({"trade_date": [DAY + pd.Timedelta(days=3)], "equity": [9.0], "drawdown": [0.0]})
    with_ledger = render_report(report, pd.concat([ledger, later], ignore_index=True))
    reader = pypdf.PdfReader(io.BytesIO(with_ledger))
    assert sum(len(page.images) for page in reader.pages) == len(report.charts) + 1
    flat = _flat("\n".join(page.extract_text() for page in reader.pages))
    final = ledger["equity"].iloc[-1] - 1
    assert f"{100 * final:+.1f}% since the start" in flat and "Paper (simulated) track record" in flat
    assert f"{days[0].date().isoformat()} to {DAY.isoformat()}" in flat  # the row after the day is ignored
    assert codes_in(flat) == [], codes_in(flat)
    assert render_report(report, ledger) == with_ledger  # deterministic, the later row changes nothing
    # no ledger, or one that starts after the report's day: the report as before
    assert render_report(report, ledger.iloc[:0]) == render_report(report, later) == pdf


def test_reportlab_runs_with_its_c_accelerators():
    """rl-accel (pinned) replaces reportlab's pure-Python ASCII85 encoding of the chart images (8% of a report's
    CPU) with C giving the same bytes; without the package reportlab silently falls back to the slow path."""
    from reportlab.lib import rl_accel

    assert {"asciiBase85Encode", "escapePDF", "fp_str"} <= set(rl_accel._c_funcs)
