"""Every persona threshold and mapping, with its documented default.

A persona builder takes its config (or the default); the whole set is `PersonasConfig`. Nothing in the builders
is a magic number: if a cut-off matters to a user, it is here and it is named in the rule path of every item it
decided.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assets.personas.exposures import DEFAULT_EXPOSURES_FILE, Exposure

HedgeInstrumentName = Literal["futures", "options", "swap"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ------------------------------------------------------------------------------------------------ hedging desk
class EnergyCurve(_Strict):
    """Which EIA curve hedges an instrument, and whether it is a cross hedge (a different grade or location)."""

    curve: Literal["wti", "ng"]
    cross_hedge: bool = False


class HedgingDeskConfig(_Strict):
    """Timing (HEDGE_NOW / WAIT_FOR_PULLBACK / SCALE_IN), instrument choice, basis risk, costs and scenarios.

    Timing compares the calibrated probability of a favourable move with that of an adverse one at `horizon`:
    edge = p_favourable - p_adverse. An adverse edge beyond `edge_threshold` says hedge now; a favourable one says
    wait for a better level; in between (or when the model is not confident) hedge in tranches.
    """

    horizon: int = Field(10, ge=1, description="signal horizon the desk acts on (trading days)")
    exposures_file: Path = DEFAULT_EXPOSURES_FILE
    exposures: tuple[Exposure, ...] | None = Field(None, description="inline exposures (override the file)")
    min_confidence: float = Field(0.05, ge=0, le=1, description="below: no timing view, SCALE_IN")
    edge_threshold: float = Field(0.05, gt=0, le=1, description="|p_fav - p_adv| needed to time the hedge")
    high_urgency_edge: float = Field(0.15, gt=0, le=1, description="adverse edge at which urgency is HIGH")
    risk_off_regimes: tuple[str, ...] = Field(("CRISIS",), description="regimes that force HEDGE_NOW, HIGH")
    risk_off_drawdown_states: tuple[str, ...] = Field(("STOP_TRADING",), description="force HEDGE_NOW, HIGH")
    high_vol_pct: float = Field(0.9, ge=0, le=1, description="vix_pct_1y at or above: never wait, SCALE_IN")
    hedge_ratios: dict[str, float] = Field(
        default_factory=lambda: {"HEDGE_NOW": 0.8, "SCALE_IN": 0.33, "WAIT_FOR_PULLBACK": 0.0},
        description="share of the notional hedged now per action (SCALE_IN: first of three tranches)",
    )
    allowed_instruments: dict[str, tuple[HedgeInstrumentName, ...]] = Field(
        default_factory=lambda: {
            "commodity": ("futures", "options", "swap"),
            "fx": ("futures", "options", "swap"),
            "equity": ("futures", "options", "swap"),
            "rates": ("futures", "options", "swap"),
            "crypto": ("futures", "options"),
            "volatility": ("futures", "options"),
        }
    )
    swap_min_notional: float = Field(20_000_000, gt=0, description="swaps only for exposures at least this large")
    swap_min_basis_risk: float = Field(0.3, ge=0, le=1, description="a swap on the own index pays off from here")
    futures_cost_bps: float = Field(2.0, ge=0, description="round-trip commission and slippage of futures")
    swap_spread_bps: float = Field(15.0, ge=0, description="dealer spread of a swap")
    option_premium_factor: float = Field(0.4, gt=0, description="ATM premium ~ factor x vol x sqrt(T)")
    default_vol: float = Field(0.3, gt=0, description="annualised vol when rvol_20d is unknown")
    energy_curves: dict[str, EnergyCurve] = Field(
        default_factory=lambda: {
            "WTI": EnergyCurve(curve="wti"),
            "BRENT": EnergyCurve(curve="wti", cross_hedge=True),
            "NATGAS": EnergyCurve(curve="ng"),
        }
    )
    basis_window: int = Field(60, ge=5, description="energy rows for the basis volatility")
    basis_scale: float = Field(0.05, gt=0, description="basis (share of spot) that maps to a score of 1")
    basis_level_weight: float = Field(0.4, ge=0)
    basis_vol_weight: float = Field(0.6, ge=0)
    cross_hedge_penalty: float = Field(0.3, ge=0, le=1, description="added for a hedge on another grade")
    default_basis_risk: dict[str, float] = Field(
        default_factory=lambda: {
            "equity": 0.05,
            "rates": 0.10,
            "fx": 0.05,
            "commodity": 0.30,
            "crypto": 0.25,
            "volatility": 0.50,
        },
        description="basis-risk score where no spot/futures curve is ingested",
    )
    scenario_moves: tuple[float, ...] = Field((-0.10, -0.05, 0.05, 0.10), description="simple price moves")
    crisis_moves: dict[str, float] = Field(
        default_factory=lambda: {
            "equity": -0.30,
            "rates": -0.25,
            "fx": -0.08,
            "commodity": -0.35,
            "crypto": -0.55,
            "volatility": 1.50,
        },
        description="crisis price move per asset class (2008/2020-like; rates: the 10-year yield falls)",
    )
    default_crisis_move: float = Field(-0.20, description="crisis move of a class not listed above")
    max_energy_age_days: int = Field(21, ge=0, description="EIA refreshes daily prices weekly: older rows are stale")
    max_feature_age_days: int = Field(7, ge=0)
    crisis_moves_by_symbol: dict[str, float] = Field(
        default_factory=lambda: {"USD": 0.06, "USDJPY": -0.10, "EURUSD": -0.08},
        description="overrides where the class move has the wrong sign (the dollar rallies, the yen too)",
    )

    @model_validator(mode="after")
    def _ratios(self) -> HedgingDeskConfig:
        if set(self.hedge_ratios) != {"HEDGE_NOW", "SCALE_IN", "WAIT_FOR_PULLBACK"}:
            raise ValueError("hedge_ratios needs exactly HEDGE_NOW, SCALE_IN and WAIT_FOR_PULLBACK")
        if any(not 0 <= v <= 1 for v in self.hedge_ratios.values()):
            raise ValueError("hedge ratios must be in [0, 1]")
        return self


# ----------------------------------------------------------------------------------------------- institutional
DEFAULT_STRATEGIC_WEIGHTS: dict[str, float] = {
    "equity": 0.40,
    "rates": 0.25,
    "commodity": 0.15,
    "fx": 0.10,
    "crypto": 0.05,
    "cash": 0.05,
}


class CorrelationConfig(_Strict):
    """A breakdown is a recent correlation far from its long-run level on a pair that usually moves together."""

    short_window: int = Field(20, ge=5, description="recent window (common return days)")
    long_window: int = Field(250, ge=20, description="reference window (common return days)")
    min_obs_short: int = Field(15, ge=3)
    min_obs_long: int = Field(120, ge=10)
    min_abs_long: float = Field(0.4, ge=0, le=1, description="|long-run corr| to call the pair linked")
    min_change: float = Field(0.4, gt=0, le=2, description="|short - long| that is an alert")
    surge_abs_short: float = Field(0.7, ge=0, le=1, description="|short corr| of an unlinked pair that is a SURGE")
    flip_min_abs_short: float = Field(0.2, ge=0, le=1, description="|short corr| of the other sign that is a FLIP")
    max_alerts: int = Field(10, ge=1)


class InstitutionalConfig(_Strict):
    horizon: int = Field(10, ge=1, description="signal horizon for the factor and sentiment rules")
    excluded_asset_classes: tuple[str, ...] = Field(("volatility",), description="not an allocation factor")
    strategic_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_STRATEGIC_WEIGHTS))
    tilt: float = Field(0.05, ge=0, le=0.5, description="weight moved to the leader, from the laggard")
    crossover_lookback: int = Field(5, ge=1, description="trading rows: a 200-day cross this recent is flagged")
    max_feature_age_days: int = Field(7, ge=0)
    correlation: CorrelationConfig = CorrelationConfig()
    sentiment_labels: tuple[str, ...] = ("DISTRIBUTION", "ACCUMULATION", "CONFIRMATION")


# ------------------------------------------------------------------------------------------------- hedge fund
class HedgeFundConfig(_Strict):
    horizon: int = Field(5, ge=1, description="horizon of the conviction ranking and non-consensus flags")
    min_confidence: float = Field(0.05, ge=0, le=1, description="below: the model has no view")
    momentum_column: str = "ret_250d"
    min_abs_momentum: float = Field(0.02, ge=0, description="|12-month log return| below: no trend")
    positioning_z: float = Field(0.5, ge=0, description="|cot_spec_z52| from which speculators lean")
    cot_extreme_z: float = Field(1.5, gt=0, description="|cot_spec_z52| of a crowded market")
    max_feature_age_days: int = Field(7, ge=0)


# ---------------------------------------------------------------------------------------------- retail trader
class RetailTraderConfig(_Strict):
    """Traffic lights with guardrails. A FLAT or weak signal is YELLOW and no trade; never a promised win rate."""

    horizon: int = Field(5, ge=1)
    audience: Literal["beginner", "experienced"] = "beginner"
    min_confidence: float = Field(0.10, ge=0, le=1, description="below: YELLOW, NO_TRADE")
    min_probability: float = Field(0.45, ge=0, le=1, description="calibrated probability of the direction")
    min_track_n: int = Field(100, ge=0, description="out-of-sample calls needed before the signal is trusted")
    min_balanced_accuracy: float = Field(0.5, ge=0, le=1, description="at or below: no demonstrated edge")
    max_position_pct: dict[str, float] = Field(
        default_factory=lambda: {"beginner": 0.05, "experienced": 0.10},
        description="largest position as a share of the account",
    )
    allow_short: dict[str, bool] = Field(default_factory=lambda: {"beginner": False, "experienced": True})
    blocked_regimes: tuple[str, ...] = Field(("CRISIS",), description="no new trades in these regimes")
    blocked_drawdown_states: tuple[str, ...] = Field(("STOP_TRADING",))
    stop_vol_multiple: float = Field(1.0, gt=0, description="minimum stop distance in horizon volatilities")
    max_stop_pct: float = Field(0.15, gt=0, lt=1, description="a wider stop means the trade is too risky")
    min_reward_risk: float = Field(1.0, gt=0, description="target distance / stop distance")
    default_vol: float = Field(0.3, gt=0, description="annualised vol when rvol_20d is unknown")
    max_feature_age_days: int = Field(7, ge=0)

    @model_validator(mode="after")
    def _audiences(self) -> RetailTraderConfig:
        for name in ("beginner", "experienced"):
            if name not in self.max_position_pct or name not in self.allow_short:
                raise ValueError(f"max_position_pct and allow_short need an entry for {name}")
        if self.max_position_pct["beginner"] > 0.05:
            raise ValueError("beginners may not be offered more than 5% of the account in one position")
        return self


# --------------------------------------------------------------------------------------------- casual investor
class CasualInvestorConfig(_Strict):
    horizon: int = Field(5, ge=1)
    min_confidence: float = Field(0.10, ge=0, le=1, description="signals below do not count toward the mood")
    breadth_threshold: float = Field(0.6, gt=0.5, le=1, description="share of confident calls one way: a lean")
    quiet_share: float = Field(0.5, ge=0, le=1, description="share of instruments without a confident call: QUIET")
    stressed_regimes: tuple[str, ...] = ("CRISIS", "STRONG_BEAR", "BEAR")
    stressed_share: float = Field(0.5, gt=0, le=1, description="share of instruments in a stressed regime")
    stressed_vix_pct: float = Field(0.9, ge=0, le=1, description="vix_pct_1y at or above: STRESSED")
    digest_symbols: tuple[str, ...] = ("SPX", "UST10Y", "WTI", "BTC")
    max_feature_age_days: int = Field(7, ge=0)


# ---------------------------------------------------------------------------------------------- wealth manager
class WealthManagerConfig(_Strict):
    horizon: int = Field(10, ge=1)
    title: str = "Market Intelligence Report"
    client: str = "Private clients"
    strategic_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_STRATEGIC_WEIGHTS))
    excluded_asset_classes: tuple[str, ...] = ("volatility",)
    tilt_scale: float = Field(0.10, ge=0, description="adjustment = score x scale, before the cap")
    max_tilt: float = Field(0.05, ge=0, le=0.5, description="largest adjustment of one class")
    step: float = Field(0.005, gt=0, description="adjustments are rounded to this")
    neutral_band: float = Field(0.005, ge=0, description="|adjustment| below: NEUTRAL")
    risk_off_regimes: tuple[str, ...] = ("CRISIS", "STRONG_BEAR", "BEAR")
    risk_off_classes: tuple[str, ...] = ("equity", "crypto", "commodity")
    risk_off_tilt: float = Field(0.02, ge=0, description="taken from risky classes when the regime is risk-off")
    reference_symbol: str = Field("SPX", description="whose regime heads the report")
    key_signals: int = Field(5, ge=1)
    min_confidence: float = Field(0.05, ge=0, le=1)
    high_vix_pct: float = Field(0.8, ge=0, le=1)
    cot_extreme_z: float = Field(2.0, gt=0)
    high_var_99: float = Field(0.03, gt=0, description="one-day 99% VaR of a sized position, share of capital")
    reduce_drawdown_states: tuple[str, ...] = ("REDUCE_50", "REDUCE_75", "STOP_TRADING")
    guard_cut_shares: dict[str, float] = Field(
        default_factory=lambda: {"FULL_SIZE": 0.0, "REDUCE_50": 0.5, "REDUCE_75": 0.75, "STOP_TRADING": 1.0},
        description="share of a position the drawdown guard takes away, per drawdown state",
    )
    guard_tilt: float = Field(
        0.05, ge=0, le=0.5, description="underweight of a class whose every instrument the guard stops (x mean cut)"
    )
    correlation: CorrelationConfig = CorrelationConfig()
    chart_symbols: tuple[str, ...] = ("SPX", "UST10Y", "WTI", "EURUSD", "BTC")
    chart_days: int = Field(365, ge=30, description="calendar days of price history in the chart")
    max_feature_age_days: int = Field(7, ge=0)

    @model_validator(mode="after")
    def _weights(self) -> WealthManagerConfig:
        if abs(sum(self.strategic_weights.values()) - 1.0) > 1e-9 or "cash" not in self.strategic_weights:
            raise ValueError("strategic_weights must include cash and sum to 1")
        if any(not 0 <= v <= 1 for v in self.guard_cut_shares.values()):
            raise ValueError("guard_cut_shares must be shares in [0, 1]")
        return self


class PersonasConfig(_Strict):
    """All six personas' configs, for wiring in one place."""

    hedging_desk: HedgingDeskConfig = HedgingDeskConfig()
    institutional: InstitutionalConfig = InstitutionalConfig()
    wealth_manager: WealthManagerConfig = WealthManagerConfig()
    hedge_fund: HedgeFundConfig = HedgeFundConfig()
    retail_trader: RetailTraderConfig = RetailTraderConfig()
    casual_investor: CasualInvestorConfig = CasualInvestorConfig()
