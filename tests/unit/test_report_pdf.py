"""The wealth manager's PDF, read back with a PDF reader: sections in order, the allocation table, the charts as
embedded images, a reference on every statement that resolves to the audit trail, fixed metadata, same bytes."""

from __future__ import annotations

import io
import re

import pypdf
import pytest

from assets.personas.audit import read_audit, record_recommendations
from assets.personas.inputs import PersonaInputs
from assets.personas.report_pdf import SECTIONS, reference_map, render_report
from assets.personas.wealth_manager import build_wealth_manager, class_label
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
    for header in ("Asset class", "Strategic", "Adjustment", "Target", "Stance"):
        assert header in text
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
