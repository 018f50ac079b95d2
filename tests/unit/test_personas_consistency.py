"""The wealth manager's report agrees with itself, on the output rows and on the PDF's text (issue 11, scope 7):
- the score chart shows the quantity the allocation tilts by (each signal's combined score), with its model and
  rules parts, and its caption rebuilds each class's score in the allocation table from the instruments' scores;
- every mention of the drawdown guard says what it reacts to (our own paper track record), and beside a bullish
  regime says that the market is not the reason.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pypdf
import pytest

from assets.personas.common import BULLISH_ANYWAY, GUARD_REASON, regime_family
from assets.personas.daily import build_all
from assets.personas.inputs import PersonaInputs
from assets.personas.report_pdf import render_report
from assets.personas.score_parts import score_parts
from assets.personas.wealth_manager import SCORE_CHART_TITLE, build_wealth_manager, class_label
from assets.signals.ensemble import COMPONENTS, RULE_COLUMNS, ensemble_scores
from tests.unit.test_personas_inputs import DAY, make_inputs

MODEL_WEIGHT = 0.55  # the rest goes to the trend rule: enough for model and combined score to differ in sign


def _with_parts(inputs: PersonaInputs) -> PersonaInputs:
    """The fixture's signals with model probabilities, a combined score made by the signals stage's own
    `ensemble_scores` from learned-looking weights, and the parts `score_parts` finds from those weights."""
    signals = inputs.signals.copy()
    rng = np.random.default_rng(3)
    signals["model_prob_up"] = (signals["prob_up"] + rng.normal(0, 0.05, len(signals))).clip(0.05, 0.9)
    signals["model_prob_down"] = (signals["prob_down"] + rng.normal(0, 0.05, len(signals))).clip(0.05, 0.9)
    signals["model_prob_flat"] = 1 - signals["model_prob_up"] - signals["model_prob_down"]
    cutoff = pd.Timestamp("2023-12-31")
    weights = pd.DataFrame(
        [
            {"horizon": h, "cutoff": cutoff, "component": c, "weight": w}
            for h in sorted(signals["horizon"].unique())
            for c, w in {"model": MODEL_WEIGHT, "rule_tsmom": 1 - MODEL_WEIGHT}.items()
        ]
    )
    scores = signals.assign(
        cutoff=cutoff,
        model=signals["model_prob_up"] - signals["model_prob_down"],
        **{c: pd.to_numeric(signals[c]).fillna(0.0) for c in RULE_COLUMNS},
    )
    one = weights[weights["horizon"] == weights["horizon"].iloc[0]]  # the same weights at every horizon
    full = one.pivot(index="cutoff", columns="component", values="weight").reindex(columns=list(COMPONENTS))
    long = full.fillna(0.0).reset_index().melt(id_vars="cutoff", var_name="component", value_name="weight")
    signals["ensemble_score"] = ensemble_scores(scores, long).to_numpy()
    cutoffs = signals[["symbol", "signal_date", "horizon"]].rename(columns={"signal_date": "trade_date"})
    parts = score_parts(signals, cutoffs.assign(cutoff=cutoff), weights)
    return PersonaInputs(
        signals=signals,
        features=inputs.features,
        prices=inputs.prices,
        energy=inputs.energy,
        track_record=inputs.track_record,
        score_parts=parts,
        universe=inputs.universe,
    )


@pytest.fixture(scope="module")
def inputs() -> PersonaInputs:
    return _with_parts(make_inputs())


@pytest.fixture(scope="module")
def report(inputs):
    return build_wealth_manager(inputs, DAY)


@pytest.fixture(scope="module")
def text(report) -> str:
    reader = pypdf.PdfReader(io.BytesIO(render_report(report)))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_score_parts_add_up_to_the_combined_score_the_signals_stage_made(inputs):
    day = inputs.signals.merge(inputs.score_parts, on=["symbol", "signal_date", "horizon"], validate="one_to_one")
    assert len(day) == len(inputs.signals)
    rebuilt = (day["model_part"] + day["rules_part"]).clip(-1, 1)
    np.testing.assert_allclose(rebuilt, day["ensemble_score"], atol=1e-12)
    model_sign = np.sign(day["model_prob_up"] - day["model_prob_down"])
    assert (model_sign != np.sign(day["ensemble_score"])).any()  # the fixture has the case a reader trips on


def test_the_score_chart_shows_what_the_allocation_uses_with_its_parts(inputs, report):
    chart = next(c for c in report.charts if c.chart_id == "scores")
    assert chart.title.startswith(SCORE_CHART_TITLE) and chart.kind == "parts"
    day = inputs.signals_on(DAY, report.horizon).set_index("symbol")
    combined = dict(zip(chart.labels, chart.series["combined_score"], strict=True))
    for symbol, value in combined.items():
        assert value == pytest.approx(day.loc[symbol, "ensemble_score"], abs=1e-4)
        parts = (
            chart.series["model_part"][chart.labels.index(symbol)]
            + chart.series["rules_part"][chart.labels.index(symbol)]
        )
        assert np.clip(parts, -1, 1) == pytest.approx(value, abs=2e-4)
    # each class's score in the allocation table is the confidence-weighted mean of the chart's values
    for a in report.allocations:
        if a.score is None:
            continue
        members = [s for s in chart.labels if inputs.asset_class(s) == a.asset_class]
        weight = day.loc[members, "confidence"]
        mean = float((weight * pd.Series({s: combined[s] for s in members})).sum() / weight.sum())
        assert mean == pytest.approx(a.score, abs=1e-3), a.asset_class
        assert np.sign(mean) == np.sign(a.score)


def test_the_pdf_says_what_the_chart_shows_and_rebuilds_each_class_score(inputs, report, text):
    assert SCORE_CHART_TITLE in text
    assert "probability of a rise minus a fall, next" not in text  # the old chart of the model's view alone
    day = inputs.signals_on(DAY, report.horizon).set_index("symbol")
    for a in report.allocations:
        if a.score is None:
            continue
        found = re.search(rf"{re.escape(class_label(a.asset_class))} ([+-]\d\.\d\d) from ([^;.]+)", text)
        assert found, a.asset_class
        assert float(found.group(1)) == pytest.approx(a.score, abs=0.006)
        for symbol, value in re.findall(r"([A-Z0-9]+) ([+-]\d\.\d\d)", found.group(2)):
            assert np.sign(float(value)) == np.sign(round(day.loc[symbol, "ensemble_score"], 2)), symbol


def _guard_texts(outputs) -> list[tuple[str, str]]:
    texts = []
    for output in outputs.values():
        for item in output.items():
            texts.append((str(getattr(item, "symbol", None) or item.subject), item.text))
            texts += [(item.subject, str(r)) for r in getattr(item, "reasons", []) or []]
    return [(s, t) for s, t in texts if "guard" in t]


def test_every_guard_mention_says_it_reacts_to_our_paper_record_not_the_market(inputs, report, text):
    outputs = build_all(inputs, DAY)
    mentions = _guard_texts(outputs)
    assert mentions  # the fixture's guard cuts Bitcoin
    for _, sentence in mentions:
        assert GUARD_REASON in sentence, sentence
    # in the PDF as well: every guard cut carries its reason
    for sentence in re.findall(r"[^.]*drawdown guard has cut[^.]*\.", text):
        assert GUARD_REASON in sentence, sentence


def test_a_guard_cut_beside_a_bullish_regime_says_the_market_is_not_why():
    base = make_inputs()
    signals = base.signals.copy()
    on_day = signals["signal_date"] == pd.Timestamp(DAY)
    spx = on_day & (signals["symbol"] == "SPX")
    signals.loc[spx, "drawdown_state"] = "REDUCE_50"
    signals.loc[spx, "regime"] = "STRONG_BULL"
    inputs = PersonaInputs(
        signals=signals,
        features=base.features,
        prices=base.prices,
        energy=base.energy,
        track_record=base.track_record,
        universe=base.universe,
    )
    report = build_wealth_manager(inputs, DAY)
    assert regime_family(report.regime.regime) == "BULL" and "strong bull" in report.regime.text
    equity = next(a for a in report.allocations if a.asset_class == "equity")
    assert "SPX" in equity.guarded and BULLISH_ANYWAY in equity.text and GUARD_REASON in equity.text
    flat = re.sub(
        r"\s+", " ", " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(render_report(report))).pages)
    )
    cut_sentences = [s for s in re.findall(r"[^.]*drawdown guard has cut[^.]*\.", flat) if "S&P 500" in s]
    assert cut_sentences and all(BULLISH_ANYWAY in s for s in cut_sentences), cut_sentences


def test_a_yield_instrument_is_named_as_the_bond_price_its_directions_describe(inputs):
    """Signals, regimes and returns of a yield instrument are the bond price's (-duration x change in yield): a text
    saying "US 10-year Treasury yield ... a rise" would tell the reader the opposite."""
    texts = [item.text for output in build_all(inputs, DAY).values() for item in output.items()]
    named = [t for t in texts if "Treasury yield" in t]
    assert named
    assert all("Treasury yield (as a bond price, which rises when the yield falls)" in t for t in named), named


def test_the_price_chart_says_which_line_is_a_yield(inputs, report, text):
    """The 365-day chart rebases closes; a yield's close is the yield, so its line falls when the bond rallies,
    the opposite of the "as a bond price" direction the rest of the report uses: the caption says so."""
    chart = next(c for c in report.charts if c.chart_id == "prices")
    yields = [s for s in chart.series if inputs.universe.instrument(s).price.kind == "yield"]
    assert yields  # the fixture charts UST10Y
    assert f"{', '.join(yields)}: the yield itself" in chart.caption
    assert all(f"{s}: the yield itself" not in chart.caption for s in chart.series if s not in yields)
    assert "the yield itself, rebased the same way (it falls when the bond's price rises)" in text


def test_no_key_signals_is_reconciled_with_the_allocation_tilts():
    from assets.personas.report_pdf import NO_KEY_SIGNALS

    base = make_inputs()
    quiet = base.signals.assign(direction="FLAT")
    inputs = PersonaInputs(signals=quiet, features=base.features, prices=base.prices, universe=base.universe)
    report = build_wealth_manager(inputs, DAY)
    assert not report.key_signals and any(a.adjustment for a in report.allocations if a.asset_class != "cash")
    flat = re.sub(
        r"\s+", " ", " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(render_report(report))).pages)
    )
    assert re.sub(r"\s+", " ", NO_KEY_SIGNALS) in flat
