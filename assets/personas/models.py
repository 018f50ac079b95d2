"""The persona outputs' contracts: one document per persona and day, made of auditable items.

Every item is one statement a user may act on. It carries its own provenance (the signal rows it used, their
model versions and feature snapshot hashes, any other input rows, and the ordered rule path that produced it) and
a `recommendation_id`, a stable hash of persona, day, section, subject and content, so the same inputs give the
same id and the audit trail can be keyed on it. The JSON Schemas of these models are the published contracts
(`Model.model_json_schema()`); the gold tables are the items flattened (`assets.personas.tables`).

Retail and casual texts are checked for promises (a guaranteed win, certainty): an output that promises cannot be
constructed.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION = "1.0"

PersonaName = Literal[
    "hedging_desk", "institutional", "wealth_manager", "hedge_fund", "retail_trader", "casual_investor"
]
PERSONAS: tuple[PersonaName, ...] = (
    "hedging_desk",
    "institutional",
    "wealth_manager",
    "hedge_fund",
    "retail_trader",
    "casual_investor",
)

# Words that turn an estimate into a promise. Retail and casual texts may not contain them.
BANNED_PHRASES: tuple[str, ...] = (
    "guarantee",
    "guaranteed",
    "risk-free",
    "risk free",
    "certain to",
    "certainly",
    "sure thing",
    "can't lose",
    "cannot lose",
    "will rise",
    "will fall",
    "will go up",
    "will go down",
    "win rate of",
    "always wins",
    "100%",
)
_BANNED = re.compile("|".join(re.escape(p) for p in BANNED_PHRASES), re.IGNORECASE)


def promises_in(text: str) -> list[str]:
    """The promise-like phrases in a text (empty when it is honest)."""
    return list(_promises(text))


@lru_cache(maxsize=1 << 12)  # every day's outputs repeat most texts (track records, probability wording)
def _promises(text: str) -> tuple[str, ...]:
    return tuple(sorted({m.group(0).lower() for m in _BANNED.finditer(text)}))


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleStep(_Frozen):
    """One rule evaluated on the way to a recommendation, in order: what was tested, what was seen, what followed."""

    step: int = Field(ge=1)
    rule: str = Field(description="config path of the rule, e.g. retail_trader.min_confidence")
    condition: str = Field(description="the test with its threshold, e.g. 'confidence >= 0.10'")
    observed: str = Field(description="the value(s) the test saw")
    outcome: str = Field(description="what the rule decided, e.g. 'pass' or 'fail -> YELLOW, NO_TRADE'")


class SignalRef(_Frozen):
    """The key of a signal row (gold/signals/daily)."""

    symbol: str
    signal_date: date
    horizon: int

    @property
    def key(self) -> str:
        return f"{self.symbol}|{self.signal_date.isoformat()}|{self.horizon}"


class PersonaItem(_Frozen):
    """One auditable statement of a persona output (a row of its gold table, an entry of the audit trail)."""

    recommendation_id: str = Field(description="sha256 prefix of persona, day, section, subject and content")
    persona: PersonaName
    as_of: date = Field(description="the day the statement is for (signal date)")
    section: str = Field(description="which part of the output the item belongs to")
    subject: str = Field(description="symbol, exposure id, asset class or pair the statement is about")
    symbol: str | None = Field(default=None, description="the instrument, when the statement is about one")
    action: str = Field(description="what the user is told to do (or the item's label)")
    text: str = Field(description="the statement in words")
    signal_refs: list[SignalRef] = Field(default_factory=list, description="signal rows used")
    model_versions: list[str] = Field(default_factory=list)
    feature_snapshot_hashes: list[str] = Field(default_factory=list)
    signal_run_ids: list[str] = Field(default_factory=list, description="runs that produced the signal rows")
    data_refs: list[str] = Field(default_factory=list, description="other input rows: 'features:SPX@2024-06-14'")
    rule_path: list[RuleStep] = Field(default_factory=list)


class PersonaOutput(_Frozen):
    """A persona's document for one day."""

    schema_version: str = SCHEMA_VERSION
    persona: PersonaName
    as_of: date
    simulated_data: bool = Field(
        False, description="true when the lake was built from the simulated publisher: the figures are not real"
    )

    def items(self) -> list[PersonaItem]:  # pragma: no cover - every persona overrides it
        raise NotImplementedError


class _Honest(PersonaItem):
    """Items read by non-professionals: no promises in their text."""

    @field_validator("text")
    @classmethod
    def _no_promises(cls, value: str) -> str:
        found = promises_in(value)
        if found:
            raise ValueError(f"text promises an outcome ({', '.join(found)}): {value!r}")
        return value


# ----------------------------------------------------------------------------------------------- hedging desk
HedgeAction = Literal["HEDGE_NOW", "WAIT_FOR_PULLBACK", "SCALE_IN"]
Urgency = Literal["HIGH", "MEDIUM", "LOW"]
HedgeInstrument = Literal["futures", "options", "swap"]


class ScenarioPnl(_Frozen):
    """P&L of a position under a price move, before and after the recommended hedge (basis ignored)."""

    scenario: str = Field(description="'-10%', '-5%', '+5%', '+10%' or 'crisis'")
    move: float | None = Field(description="simple return of the instrument (None for a mix of crisis moves)")
    pnl_unhedged: float = Field(description="USD")
    pnl_hedged: float = Field(description="USD, with the recommended hedge ratio in place")


class CostSaving(_Frozen):
    """Estimated saving of the recommendation against hedging the full notional with futures today."""

    usd: float
    bps: float = Field(description="usd / notional x 10,000")
    timing_usd: float = Field(description="expected benefit of the timing (model's expected move)")
    carry_usd: float = Field(description="roll carry of a futures hedge over the horizon (energy curves)")
    cost_usd: float = Field(description="transaction cost, option premium or swap spread (negative)")
    assumptions: list[str]


class HedgeRecommendation(PersonaItem):
    section: Literal["exposure"] = "exposure"
    action: HedgeAction
    exposure_id: str
    asset_class: str
    notional_usd: float
    side: Literal["long", "short"]
    horizon: int
    urgency: Urgency
    instrument: HedgeInstrument
    hedge_ratio: float = Field(ge=0, le=1, description="share of the notional to hedge now")
    basis_risk_score: float = Field(ge=0, le=1, description="0 = hedge tracks the exposure, 1 = severe basis risk")
    roll_yield: float | None = Field(default=None, description="annualised roll yield of the hedge curve")
    basis: float | None = Field(default=None, description="spot - front future of the hedge curve")
    probability_adverse: float | None = None
    probability_favorable: float | None = None
    expected_move: float | None = Field(default=None, description="model's expected log return over the horizon")
    cost_saving: CostSaving
    scenarios: list[ScenarioPnl]
    reasons: list[str]


class AssetClassExposure(PersonaItem):
    section: Literal["asset_class"] = "asset_class"
    asset_class: str
    n_exposures: int
    gross_notional_usd: float
    net_notional_usd: float = Field(description="long minus short")
    hedged_notional_usd: float = Field(description="notional hedged now under the recommendations")
    scenarios: list[ScenarioPnl]


class HedgingDeskOutput(PersonaOutput):
    persona: Literal["hedging_desk"] = "hedging_desk"
    horizon: int
    energy_as_of: date | None = Field(description="date of the energy curve row used for basis and roll")
    recommendations: list[HedgeRecommendation]
    asset_classes: list[AssetClassExposure]

    def items(self) -> list[PersonaItem]:
        return [*self.recommendations, *self.asset_classes]


# ---------------------------------------------------------------------------------------------- institutional
class FactorMomentum(PersonaItem):
    section: Literal["factor"] = "factor"
    action: Literal["OVERWEIGHT", "UNDERWEIGHT", "HOLD"]
    asset_class: str
    role: Literal["LEADER", "LAGGARD", "MIDDLE"]
    rank: int = Field(ge=1)
    momentum_12m: float = Field(description="mean 12-month simple return of the class's instruments")
    members: list[str]
    rule_factor_momentum: float | None = Field(default=None, description="mean of the signals' factor rule")
    strategic_weight: float
    target_weight: float


class MomentumRow(PersonaItem):
    section: Literal["momentum"] = "momentum"
    action: Literal["UPTREND", "DOWNTREND", "MIXED"]
    asset_class: str
    return_12m: float | None
    dist_ma200: float | None
    ma200_state: Literal["ABOVE", "BELOW", "CROSSED_ABOVE", "CROSSED_BELOW", "UNKNOWN"]
    rs_rank: int | None = Field(description="relative-strength rank by 12-month return, 1 = strongest")
    rs_percentile: float | None


class CorrelationAlert(PersonaItem):
    section: Literal["correlation"] = "correlation"
    action: Literal["BREAKDOWN", "FLIP", "SURGE"]
    symbol_b: str
    corr_short: float
    corr_long: float
    change: float
    window_short: int
    window_long: int
    n_short: int
    n_long: int


class SentimentDivergence(PersonaItem):
    section: Literal["sentiment"] = "sentiment"
    action: Literal["DISTRIBUTION", "ACCUMULATION", "CONFIRMATION"]
    ret_20d: float | None
    cot_spec_net_share: float | None
    cot_spec_z52: float | None
    rule_sentiment: float | None
    implication: str


class InstitutionalOutput(PersonaOutput):
    persona: Literal["institutional"] = "institutional"
    horizon: int
    leader: str | None = Field(description="asset class with the strongest 12-month momentum")
    laggard: str | None
    factors: list[FactorMomentum]
    momentum: list[MomentumRow]
    correlation_alerts: list[CorrelationAlert]
    sentiment: list[SentimentDivergence]

    def items(self) -> list[PersonaItem]:
        return [*self.factors, *self.momentum, *self.correlation_alerts, *self.sentiment]


# ----------------------------------------------------------------------------------------------- hedge fund
class RawSignal(PersonaItem):
    section: Literal["signal"] = "signal"
    action: Literal["UP", "DOWN", "FLAT"]
    horizon: int
    probability: float
    prob_up: float
    prob_flat: float
    prob_down: float
    confidence: float
    expected_move: float
    move_low: float
    move_high: float
    ensemble_score: float
    confluence: float
    size: float
    kelly_fraction: float
    regime: str
    regime_probability: float


class NonConsensus(PersonaItem):
    section: Literal["non_consensus"] = "non_consensus"
    action: Literal["AGAINST_MOMENTUM", "AGAINST_POSITIONING", "AGAINST_BOTH"]
    horizon: int
    model_view: int = Field(ge=-1, le=1)
    momentum_view: int = Field(ge=-1, le=1)
    positioning_view: int = Field(ge=-1, le=1, description="where speculators lean (+1 long, -1 short)")
    probability: float
    ret_250d: float | None
    cot_spec_z52: float | None


class CotExtreme(PersonaItem):
    section: Literal["cot_extreme"] = "cot_extreme"
    action: Literal["CROWDED_LONG", "CROWDED_SHORT"]
    cot_spec_z52: float
    cot_index: float | None
    cot_spec_net_share: float | None
    rule_cot_extreme: float | None
    contrarian_view: Literal["UP", "DOWN"]


class ConvictionRank(PersonaItem):
    section: Literal["conviction"] = "conviction"
    action: Literal["LONG", "SHORT", "NONE"]
    rank: int = Field(ge=1)
    horizon: int
    conviction: float = Field(ge=0, le=1)
    direction: Literal["UP", "DOWN", "FLAT"]
    probability: float
    confidence: float
    ensemble_score: float
    confluence: float


class PaperTrackRecord(_Frozen):
    """The signals traded on paper (the gold ledger): a simulated record after trading costs, never a promise."""

    start: date = Field(description="first day of the paper book")
    end: date = Field(description="last day counted (on or before the document's day)")
    days: int = Field(ge=1, description="trading days in the book")
    cumulative_return: float = Field(description="equity growth since the start, after costs")
    return_20d: float = Field(description="equity growth over the last 20 trading days (or since the start)")
    drawdown: float = Field(le=0, description="current equity below its running peak")
    max_drawdown: float = Field(le=0, description="deepest drawdown since the start")
    hit_rate: float | None = Field(ge=0, le=1, description="share of position-days with a gain after costs")
    position_days: int = Field(ge=0, description="instrument-days on which a paper position was held")
    text: str


class HedgeFundOutput(PersonaOutput):
    persona: Literal["hedge_fund"] = "hedge_fund"
    horizon: int
    signals: list[RawSignal]
    non_consensus: list[NonConsensus]
    cot_extremes: list[CotExtreme]
    conviction: list[ConvictionRank]
    paper_track_record: PaperTrackRecord | None = Field(
        None, description="the signals' own paper-trading record (simulated, after costs), when a ledger exists"
    )

    def items(self) -> list[PersonaItem]:
        return [*self.signals, *self.non_consensus, *self.cot_extremes, *self.conviction]


# ----------------------------------------------------------------------------------------------- retail trader
class TrackRecord(_Frozen):
    """The signal's own out-of-sample record, shown with its sample size; a description, never a promise."""

    horizon: int
    n: int = Field(ge=0)
    hit_rate: float | None
    balanced_accuracy: float | None
    brier: float | None
    ic: float | None
    text: str


class Guardrails(_Frozen):
    audience: Literal["beginner", "experienced"]
    max_position_pct: float = Field(gt=0, le=1, description="largest position as a share of the account")
    suggested_position_pct: float = Field(ge=0, le=1)
    stop_required: Literal[True] = True
    notes: list[str]


class RetailCall(_Honest):
    section: Literal["traffic_light"] = "traffic_light"
    action: Literal["BUY", "SELL", "NO_TRADE"]
    light: Literal["GREEN", "YELLOW", "RED"]
    horizon: int
    close: float | None
    stop: float | None
    target: float | None
    probability: float | None = Field(description="calibrated probability of the signal's direction")
    probability_text: str
    track_record: TrackRecord | None
    guardrails: Guardrails

    @model_validator(mode="after")
    def _guardrails(self) -> RetailCall:
        if self.action != "NO_TRADE":
            if self.stop is None or self.target is None:
                raise ValueError("a trade needs a stop and a target")
            if self.guardrails.suggested_position_pct > self.guardrails.max_position_pct:
                raise ValueError("suggested size above the guardrail")
            if self.light == "YELLOW":
                raise ValueError("a yellow light never comes with a trade")
        elif self.guardrails.suggested_position_pct != 0:
            raise ValueError("no trade means no size")
        for text in (self.probability_text, self.track_record.text if self.track_record else ""):
            if promises_in(text):
                raise ValueError(f"text promises an outcome: {text!r}")
        return self


class RetailTraderOutput(PersonaOutput):
    persona: Literal["retail_trader"] = "retail_trader"
    horizon: int
    audience: Literal["beginner", "experienced"]
    calls: list[RetailCall]
    disclaimer: str
    paper_track_record: PaperTrackRecord | None = Field(
        None, description="the signals' own paper-trading record (simulated, after costs), when a ledger exists"
    )

    @model_validator(mode="after")
    def _paper_record_is_honest(self) -> RetailTraderOutput:
        if self.paper_track_record is not None and promises_in(self.paper_track_record.text):
            raise ValueError(f"text promises an outcome: {self.paper_track_record.text!r}")
        return self

    def items(self) -> list[PersonaItem]:
        return list(self.calls)


# ---------------------------------------------------------------------------------------------- casual investor
class DailySentence(_Honest):
    section: Literal["daily"] = "daily"
    action: Literal["STAY_THE_COURSE", "BE_PATIENT", "REVIEW_RISK"]
    mood: Literal["POSITIVE", "NEGATIVE", "MIXED", "STRESSED", "QUIET"]

    @field_validator("text")
    @classmethod
    def _one_sentence(cls, value: str) -> str:
        body = value.strip()
        if not body.endswith(".") or re.search(r"[.!?]\s+[A-Z]", body[:-1]):
            raise ValueError(f"the daily text must be one plain sentence: {value!r}")
        return value


class MonthlyDigest(_Honest):
    section: Literal["monthly_digest"] = "monthly_digest"
    action: Literal["READ"] = "READ"
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    days: int = Field(ge=0, description="signal days in the month so far")


class CasualInvestorOutput(PersonaOutput):
    persona: Literal["casual_investor"] = "casual_investor"
    daily: DailySentence
    digest: MonthlyDigest | None = Field(description="present on the month's last weekday")

    def items(self) -> list[PersonaItem]:
        return [self.daily] if self.digest is None else [self.daily, self.digest]


# ---------------------------------------------------------------------------------------------- wealth manager
class RegimeView(PersonaItem):
    section: Literal["regime"] = "regime"
    regime: str
    confidence: float = Field(ge=0, le=1, description="the model's probability of the regime")
    agreement: float = Field(ge=0, le=1, description="share of instruments in a regime of the same family")


class AllocationAdjustment(PersonaItem):
    section: Literal["allocation"] = "allocation"
    action: Literal["OVERWEIGHT", "UNDERWEIGHT", "NEUTRAL"]
    asset_class: str
    strategic_weight: float
    adjustment: float = Field(description="signal_tilt - derisk_cut (cash: what balances the other classes)")
    target_weight: float
    score: float | None = Field(description="confidence-weighted ensemble score of the class (cash: none)")
    signal_tilt: float = Field(0.0, description="part of the adjustment the signals ask for (never > 0 if de-risked)")
    derisk_cut: float = Field(
        0.0, ge=0, description="weight taken by the drawdown guard and a risk-off regime; cash: their total"
    )
    guarded: list[str] = Field(default_factory=list, description="instruments of the class the drawdown guard cuts")


class KeySignal(PersonaItem):
    section: Literal["key_signal"] = "key_signal"
    action: Literal["UP", "DOWN"]
    horizon: int
    probability: float
    confidence: float
    expected_move: float
    conviction: float


class RiskFactor(PersonaItem):
    section: Literal["risk_factor"] = "risk_factor"
    action: Literal["MONITOR", "REDUCE_RISK", "NONE"]
    severity: Literal["HIGH", "MEDIUM", "LOW"]
    factor: str


class ChartSpec(_Frozen):
    """The data of one chart in the report; `refs` are the recommendations it illustrates."""

    chart_id: str
    title: str
    kind: Literal["bar", "parts", "line"] = Field(
        description="bar: one series; parts: the first series (a total) as markers over the others stacked; line"
    )
    caption: str
    refs: list[str]
    labels: list[str]
    series: dict[str, list[float | None]]
    y_label: str = Field("", description="axis label a reader sees (the series key when empty)")


class WealthManagerOutput(PersonaOutput):
    persona: Literal["wealth_manager"] = "wealth_manager"
    title: str
    client: str
    week_start: date
    horizon: int
    regime: RegimeView
    allocations: list[AllocationAdjustment]
    key_signals: list[KeySignal]
    risk_factors: list[RiskFactor]
    charts: list[ChartSpec]
    disclaimer: str

    def items(self) -> list[PersonaItem]:
        return [self.regime, *self.allocations, *self.key_signals, *self.risk_factors]


OUTPUT_MODELS: dict[PersonaName, type[PersonaOutput]] = {
    "hedging_desk": HedgingDeskOutput,
    "institutional": InstitutionalOutput,
    "wealth_manager": WealthManagerOutput,
    "hedge_fund": HedgeFundOutput,
    "retail_trader": RetailTraderOutput,
    "casual_investor": CasualInvestorOutput,
}

ITEM_MODELS: dict[PersonaName, tuple[type[PersonaItem], ...]] = {
    "hedging_desk": (HedgeRecommendation, AssetClassExposure),
    "institutional": (FactorMomentum, MomentumRow, CorrelationAlert, SentimentDivergence),
    "wealth_manager": (RegimeView, AllocationAdjustment, KeySignal, RiskFactor),
    "hedge_fund": (RawSignal, NonConsensus, CotExtreme, ConvictionRank),
    "retail_trader": (RetailCall,),
    "casual_investor": (DailySentence, MonthlyDigest),
}
