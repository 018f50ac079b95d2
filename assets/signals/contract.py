"""The signals table's contract: one row per instrument, signal date and horizon (gold/signals/daily).

Everything downstream (persona outputs, client feeds, the audit trail) reads signals through this model, so a
change here is a change of an external contract: bump SIGNALS_SCHEMA_VERSION.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SIGNALS_SCHEMA_VERSION = "1.2"  # 1.1: parametric VaR, base rate, edge and its threshold; FLAT = no edge
# 1.2: prob_* and probability are the probabilities the decision used (moved to the instrument's class prior);
#      the model's own calibrated probabilities are model_prob_*
HORIZONS: tuple[int, ...] = (1, 2, 3, 5, 7, 10)
# Default multi-horizon confluence weights (issue 5), in the order of HORIZONS.
CONFLUENCE_WEIGHTS: dict[int, float] = {1: 0.8, 2: 0.85, 3: 0.9, 5: 1.0, 7: 1.05, 10: 1.0}

Direction = Literal["UP", "DOWN", "FLAT"]
RegimeName = Literal[
    "STRONG_BULL", "BULL", "WEAK_BULL", "SIDEWAYS", "WEAK_BEAR", "BEAR", "STRONG_BEAR", "CRISIS", "RECOVERY"
]
DrawdownState = Literal["FULL_SIZE", "REDUCE_50", "REDUCE_75", "STOP_TRADING"]
SentimentLabel = Literal["DISTRIBUTION", "ACCUMULATION", "CONFIRMATION", "NEUTRAL"]


class SignalRow(BaseModel):
    """A daily signal for one instrument and horizon, with the evidence it rests on."""

    model_config = ConfigDict(extra="forbid")

    symbol: str
    signal_date: date = Field(description="the trading day D the signal is for (facts known at D's decision time only)")
    decision_at: datetime = Field(description="D at the decision time (UTC)")
    horizon: int = Field(description="trading days ahead: 1, 2, 3, 5, 7 or 10")
    direction: Direction = Field(
        description="UP or DOWN only where the calibrated edge over the base rate clears the learned threshold; "
        "FLAT means no position"
    )
    probability: float = Field(
        ge=0, le=1, description="probability of `direction` (FLAT: of a flat move), the one the decision used"
    )
    prob_up: float = Field(
        ge=0,
        le=1,
        description="probability of a rise for this instrument, the one the decision used: the model's calibrated "
        "probability moved to the instrument's class prior (its base rate shrunk toward the pooled one); the "
        "model's own is model_prob_up",
    )
    prob_flat: float = Field(ge=0, le=1, description="probability of a flat move, on the same footing as prob_up")
    prob_down: float = Field(ge=0, le=1, description="probability of a fall, on the same footing as prob_up")
    confidence: float = Field(
        ge=0, le=1, description="how decisive the signal's probabilities are, |prob_up - prob_down| (0 = no edge)"
    )
    expected_move: float = Field(description="expected log return over the horizon")
    move_low: float = Field(description="lower bound of the move's 80% interval (log return)")
    move_high: float = Field(description="upper bound of the move's 80% interval (log return)")
    regime: RegimeName
    regime_probability: float = Field(ge=0, le=1)
    rule_cot_extreme: float | None = Field(default=None, ge=-1, le=1)
    rule_sentiment: float | None = Field(default=None, ge=-1, le=1)
    sentiment_label: SentimentLabel | None = None
    rule_vix_term_structure: float | None = Field(default=None, ge=-1, le=1)
    rule_mvrv_zone: float | None = Field(default=None, ge=-1, le=1)
    rule_eia_surprise: float | None = Field(default=None, ge=-1, le=1)
    rule_tsmom: float | None = Field(default=None, ge=-1, le=1)
    rule_factor_momentum: float | None = Field(default=None, ge=-1, le=1)
    ensemble_score: float = Field(ge=-1, le=1, description="model and rules combined, weights learned from the past")
    confluence: float = Field(ge=-1, le=1, description="agreement across horizons (same for every horizon of a day)")
    size: float = Field(ge=-0.25, le=0.25, description="signed position size as a fraction of capital (Kelly, capped)")
    kelly_fraction: float = Field(ge=0, le=0.25)
    drawdown_state: DrawdownState
    var_95: float = Field(ge=0, description="one-day 95% historical VaR of the sized position, fraction of capital")
    var_99: float = Field(ge=0, description="one-day 99% historical VaR of the sized position")
    var_95_parametric: float | None = Field(
        default=None, ge=0, description="one-day 95% Gaussian VaR of the sized position (null before 1.1)"
    )
    var_99_parametric: float | None = Field(default=None, ge=0)
    base_rate: float | None = Field(
        default=None, ge=0, le=1, description="share of past moves in the candidate direction (class prior)"
    )
    edge: float | None = Field(default=None, ge=-1, le=1, description="calibrated probability minus the base rate")
    edge_threshold: float | None = Field(
        default=None, ge=0, le=1, description="edge needed to take a position, learned walk-forward"
    )
    model_prob_up: float | None = Field(
        default=None, ge=0, le=1, description="the model's own calibrated probability of a rise (null before 1.2)"
    )
    model_prob_flat: float | None = Field(default=None, ge=0, le=1)
    model_prob_down: float | None = Field(default=None, ge=0, le=1)
    model_version: str = Field(description="content hash of the model that produced the probabilities")
    feature_snapshot_hash: str = Field(description="sha256 of the feature row the signal was computed from")
    run_id: str
