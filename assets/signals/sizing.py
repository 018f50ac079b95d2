"""Position sizing: a capped Kelly fraction, scaled by the regime and by a drawdown-protection state machine.

size = min(kelly(p, win, loss) * kelly_multiplier, kelly_cap) * regime multiplier * drawdown multiplier.

- Kelly for a bet that wins `avg_win` with probability p and loses `avg_loss` otherwise (both as positive
  fractions of the stake): f* = p - (1 - p) / b with b = avg_win / avg_loss. No edge (f* <= 0) means no position.
  The probability must be calibrated: Kelly on an over-confident probability over-bets. Capped at 25 percent
  because the inputs are estimates and full Kelly on an overestimated edge loses money.
- The regime multiplier scales risk, not direction: in a CRISIS every position, long or short, is cut, because
  volatility and correlations jump and estimates made in calmer data stop holding.
- The drawdown guard watches the strategy's *shadow* equity curve (what the signals would have earned at full
  size). It must not watch the sized equity: once trading stops that curve is flat and could never recover.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

# Regime names are those of assets.models.regimes.Regime; kept as plain strings so sizing has no model import.
DEFAULT_REGIME_MULTIPLIERS: dict[str, float] = {
    "STRONG_BULL": 1.00,
    "BULL": 0.90,
    "WEAK_BULL": 0.80,
    "RECOVERY": 0.75,
    "SIDEWAYS": 0.70,
    "WEAK_BEAR": 0.65,
    "BEAR": 0.60,
    "STRONG_BEAR": 0.50,
    "CRISIS": 0.25,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SizingConfig(_Strict):
    """Kelly cap and multiplier, and the regime table (documented in DEFAULT_REGIME_MULTIPLIERS)."""

    kelly_cap: float = Field(0.25, gt=0, le=1, description="largest fraction of capital on one position")
    kelly_multiplier: float = Field(
        1.0, gt=0, le=1, description="fraction of Kelly before the cap (0.5 = half Kelly); full Kelly by default"
    )
    regime_multipliers: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_REGIME_MULTIPLIERS))
    unknown_regime_multiplier: float = Field(0.5, ge=0, le=1, description="no regime known for the date")

    @model_validator(mode="after")
    def _bounded(self) -> SizingConfig:
        if any(not 0.0 <= m <= 1.0 for m in self.regime_multipliers.values()):
            raise ValueError("regime multipliers must be in [0, 1]")
        return self


class SizingDecision(_Strict):
    """How one position's size was reached, step by step (for the audit trail)."""

    p_win: float
    avg_win: float
    avg_loss: float
    kelly_raw: float = Field(description="f* = p - (1 - p) / b, may be negative")
    kelly: float = Field(description="max(f*, 0) * kelly_multiplier, capped")
    regime: str | None
    regime_multiplier: float
    drawdown_multiplier: float
    size: float = Field(description="fraction of capital, >= 0; the direction comes from the signal")


def kelly_fraction(p_win: float, avg_win: float, avg_loss: float, cap: float = 0.25, multiplier: float = 1.0) -> float:
    """Capped Kelly fraction: min(max(p - (1 - p) * avg_loss / avg_win, 0) * multiplier, cap)."""
    _check_bet(p_win, avg_win, avg_loss)
    raw = p_win - (1.0 - p_win) * avg_loss / avg_win
    return float(min(max(raw, 0.0) * multiplier, cap))


def regime_multiplier(regime: str | None, config: SizingConfig | None = None) -> float:
    """The regime table's multiplier; unknown_regime_multiplier for None or a name not in the table."""
    config = config or SizingConfig()
    if regime is None or (isinstance(regime, float) and np.isnan(regime)):
        return config.unknown_regime_multiplier
    return config.regime_multipliers.get(str(regime), config.unknown_regime_multiplier)


def position_size(
    p_win: float,
    avg_win: float,
    avg_loss: float,
    regime: str | None = None,
    drawdown_multiplier: float = 1.0,
    config: SizingConfig | None = None,
) -> SizingDecision:
    """Size of one position as a fraction of capital, with every factor that produced it."""
    config = config or SizingConfig()
    _check_bet(p_win, avg_win, avg_loss)
    if not 0.0 <= drawdown_multiplier <= 1.0:
        raise ValueError("drawdown_multiplier must be in [0, 1]")
    raw = p_win - (1.0 - p_win) * avg_loss / avg_win
    kelly = kelly_fraction(p_win, avg_win, avg_loss, config.kelly_cap, config.kelly_multiplier)
    reg = regime_multiplier(regime, config)
    return SizingDecision(
        p_win=p_win,
        avg_win=avg_win,
        avg_loss=avg_loss,
        kelly_raw=raw,
        kelly=kelly,
        regime=None if regime is None else str(regime),
        regime_multiplier=reg,
        drawdown_multiplier=drawdown_multiplier,
        size=kelly * reg * drawdown_multiplier,
    )


def size_frame(frame: pd.DataFrame, config: SizingConfig | None = None) -> pd.DataFrame:
    """Vectorized sizing: columns p_win, avg_win, avg_loss, optional regime, drawdown_multiplier and direction.

    Adds kelly_raw, kelly, regime_multiplier, size (>= 0) and, when `direction` (+1/-1/0) is given,
    signed_size. Rows with a missing or invalid input get size 0 (no position without a valid edge).
    """
    config = config or SizingConfig()
    out = frame.copy()
    p = pd.to_numeric(out["p_win"], errors="coerce").astype(float)
    win = pd.to_numeric(out["avg_win"], errors="coerce").astype(float)
    loss = pd.to_numeric(out["avg_loss"], errors="coerce").astype(float)
    valid = p.between(0.0, 1.0) & (win > 0) & (loss > 0)
    raw = (p - (1.0 - p) * loss / win).where(valid)
    kelly = (raw.clip(lower=0.0) * config.kelly_multiplier).clip(upper=config.kelly_cap).fillna(0.0)
    regimes = out["regime"] if "regime" in out else pd.Series(None, index=out.index, dtype=object)
    reg = regimes.map(lambda r: regime_multiplier(r, config)).astype(float)
    dd = pd.to_numeric(out["drawdown_multiplier"], errors="coerce").fillna(1.0) if "drawdown_multiplier" in out else 1.0
    out["kelly_raw"] = raw
    out["kelly"] = kelly
    out["regime_multiplier"] = reg
    out["size"] = kelly * reg * dd
    if "direction" in out:
        out["signed_size"] = out["size"] * np.sign(pd.to_numeric(out["direction"], errors="coerce").fillna(0.0))
    return out


def _check_bet(p_win: float, avg_win: float, avg_loss: float) -> None:
    if not 0.0 <= p_win <= 1.0:
        raise ValueError(f"p_win must be a probability, got {p_win}")
    if not (avg_win > 0 and avg_loss > 0):
        raise ValueError(f"avg_win and avg_loss must be positive magnitudes, got {avg_win}, {avg_loss}")


# --------------------------------------------------------------------------------------------- drawdown protection


class DrawdownState(StrEnum):
    FULL_SIZE = "FULL_SIZE"
    REDUCE_50 = "REDUCE_50"
    REDUCE_75 = "REDUCE_75"
    STOP_TRADING = "STOP_TRADING"


_EPS = 1e-12
_LEVELS = (DrawdownState.FULL_SIZE, DrawdownState.REDUCE_50, DrawdownState.REDUCE_75, DrawdownState.STOP_TRADING)


class DrawdownConfig(_Strict):
    """Drawdown thresholds (fractions below the running peak) and the recovery rule.

    Escalation is immediate, to the deepest level whose threshold the drawdown has reached: 5% REDUCE_50, 10%
    REDUCE_75, 15% STOP_TRADING. Recovery is one level at a time and needs both min_rows_in_state rows in the
    current state and a drawdown back at or below recover_ratio times the current level's threshold (REDUCE_50
    leaves at 2.5%, REDUCE_75 at 5%, STOP_TRADING at 7.5%). The gap between entering and leaving is the
    hysteresis that stops the size from flapping around a threshold.
    """

    reduce_50_at: float = Field(0.05, gt=0, lt=1)
    reduce_75_at: float = Field(0.10, gt=0, lt=1)
    stop_at: float = Field(0.15, gt=0, lt=1)
    recover_ratio: float = Field(0.5, ge=0, lt=1)
    min_rows_in_state: int = Field(5, ge=1)
    multipliers: dict[DrawdownState, float] = Field(
        default_factory=lambda: {
            DrawdownState.FULL_SIZE: 1.0,
            DrawdownState.REDUCE_50: 0.5,
            DrawdownState.REDUCE_75: 0.25,
            DrawdownState.STOP_TRADING: 0.0,
        }
    )

    @model_validator(mode="after")
    def _ordered(self) -> DrawdownConfig:
        if not self.reduce_50_at < self.reduce_75_at < self.stop_at:
            raise ValueError("thresholds must increase: reduce_50_at < reduce_75_at < stop_at")
        if set(self.multipliers) != set(_LEVELS):
            raise ValueError("a multiplier is needed for every drawdown state")
        return self

    def threshold(self, state: DrawdownState) -> float:
        return {
            DrawdownState.FULL_SIZE: 0.0,
            DrawdownState.REDUCE_50: self.reduce_50_at,
            DrawdownState.REDUCE_75: self.reduce_75_at,
            DrawdownState.STOP_TRADING: self.stop_at,
        }[state]


class DrawdownStep(_Strict):
    """The guard after one equity observation."""

    equity: float
    peak: float
    drawdown: float = Field(description="1 - equity / peak, >= 0")
    state: DrawdownState
    multiplier: float
    rows_in_state: int


class DrawdownGuard:
    """Streaming drawdown state machine over a strategy's shadow (full-size) equity curve."""

    def __init__(self, config: DrawdownConfig | None = None) -> None:
        self.config = config or DrawdownConfig()
        self.state = DrawdownState.FULL_SIZE
        self.peak: float | None = None
        self.rows_in_state = 0

    def update(self, equity: float) -> DrawdownStep:
        """Feed the next equity value (positive); returns the state that applies to the next period's sizing."""
        if not equity > 0:
            raise ValueError(f"equity must be positive, got {equity}")
        cfg = self.config
        self.peak = equity if self.peak is None else max(self.peak, equity)
        drawdown = 1.0 - equity / self.peak
        # a drawdown of exactly 10% computes as 0.0999...98: thresholds are compared with a 1e-12 tolerance
        deepest = max((lvl for lvl in _LEVELS if drawdown >= cfg.threshold(lvl) - _EPS), key=_LEVELS.index)
        level = _LEVELS.index(self.state)
        if _LEVELS.index(deepest) > level:
            new = deepest
        elif (
            level > 0
            and self.rows_in_state >= cfg.min_rows_in_state
            and drawdown <= cfg.recover_ratio * cfg.threshold(self.state) + _EPS
        ):
            new = _LEVELS[level - 1]
        else:
            new = self.state
        if new is self.state:
            self.rows_in_state += 1
        else:
            self.state, self.rows_in_state = new, 1
        return DrawdownStep(
            equity=equity,
            peak=self.peak,
            drawdown=drawdown,
            state=self.state,
            multiplier=cfg.multipliers[self.state],
            rows_in_state=self.rows_in_state,
        )


def drawdown_states(equity: Sequence[float] | pd.Series, config: DrawdownConfig | None = None) -> pd.DataFrame:
    """Run the guard over a whole equity curve: equity, peak, drawdown, state, multiplier, rows_in_state.

    The state on row t is decided from equity up to t and sizes the period after t.
    """
    guard = DrawdownGuard(config)
    values = list(equity)
    steps = [guard.update(float(v)).model_dump() for v in values]
    frame = pd.DataFrame(steps, columns=list(DrawdownStep.model_fields))
    frame["state"] = frame["state"].map(lambda s: DrawdownState(s).value)
    if isinstance(equity, pd.Series):
        frame.index = equity.index
    return frame
