"""The simulated market: one seeded, joint history that every simulated publisher formats in its own wire format.

Why one world: sources must agree with each other (VIX spikes when SPX falls, speculators chase trends, inventories
move crude) or later stages learn nothing real. Why a fixed horizon: values on a date never depend on the range a
caller asks for, so truncating the data at any date T gives exactly the prefix of the full history (the
truncation-invariance tests rely on it). Each component draws from its own seeded stream for the same reason.

Dynamics, in short:
- a four-state risk regime (CALM, NORMAL, STRESS, CRISIS) drives drift and volatility of a market factor, with
  GARCH-style volatility clustering inside each regime; every asset loads on the factor with its own sign;
- VIX, VIX3M and VIX9D follow the factor's volatility (backwardation in stress); SKEW is a slow mean-reverting index;
- speculators (leveraged funds / managed money) chase 12-week trends, dealers and commercials take the other side;
- crude and gas inventories follow seasonal builds and draws plus surprises; futures curves follow inventories;
- BTC and ETH carry a high factor beta and on-chain valuation cycles (realized cap trails market cap).

Planted effects (`PLANTED_EFFECTS`) are modest, documented drifts that later stages must recover with the stated
sign and size. They are the only predictability put in on purpose besides regime drift and mild momentum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import TypeVar
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pandas as pd
from pydantic import BaseModel

# Publishers' release calendars decide when a planted effect may start: never before the data is public.
from resources.sources.cot.calendar import release_date as cot_release_date
from resources.sources.eia.calendar import gas_storage_release, petroleum_release

NEW_YORK = ZoneInfo("America/New_York")

EPOCH = date(2000, 1, 3)
CRYPTO_EPOCH = date(2010, 7, 18)
HORIZON = date(2030, 12, 31)

REGIMES = ("CALM", "NORMAL", "STRESS", "CRISIS")
# daily drift and volatility of the market factor per regime
# STRESS and CRISIS drifts are negative but modest: stronger ones would swamp (and confound) the planted VIX
# backwardation rebound, which mostly happens in those regimes
REGIME_MU = np.array([0.0006, 0.0003, -0.0004, -0.0012])
REGIME_SIGMA = np.array([0.0065, 0.0095, 0.0160, 0.0300])
REGIME_TRANSITIONS = np.array(
    [
        [0.9900, 0.0095, 0.0005, 0.0000],
        [0.0080, 0.9860, 0.0058, 0.0002],
        [0.0010, 0.0200, 0.9740, 0.0050],
        [0.0000, 0.0050, 0.0350, 0.9600],
    ]
)


class PlantedEffect(BaseModel):
    """A documented, deliberately planted predictive effect of the simulated publisher."""

    name: str
    description: str
    trigger: str
    instruments: list[str]
    horizon_days: int
    size: float
    unit: str
    tolerance: float


PLANTED_EFFECTS: list[PlantedEffect] = [
    PlantedEffect(
        name="cot_speculator_extreme_reversal",
        description=(
            "When speculators' net position (TFF leveraged money, Disaggregated managed money) as a share of "
            "open interest has a 52-week z-score beyond +/-1.5 at the Friday release, the contract's price "
            "drifts against the crowd over the next 5 trading days."
        ),
        trigger="spec_net_z52 > 1.5 (short-reversal) or < -1.5 (long-reversal), known from release Friday",
        instruments=["SPX", "NDX", "EURUSD", "USDJPY", "WTI", "BRENT", "NATGAS"],
        horizon_days=5,
        size=-0.0040,
        unit="5-day log return of the contract price, times sign(z)",
        tolerance=0.0030,
    ),
    PlantedEffect(
        name="vix_backwardation_spx_rebound",
        description="When VIX closes above VIX3M (backwardation), SPX drifts up over the next 5 trading days.",
        trigger="VIX / VIX3M > 1 at the close of D",
        instruments=["SPX", "NDX"],
        horizon_days=5,
        size=0.0040,
        unit="5-day log return (the drift does not stack over consecutive backwardation days)",
        tolerance=0.0040,
    ),
    PlantedEffect(
        name="eia_inventory_surprise_wti",
        description=(
            "A crude-stock surprise (weekly change minus the seasonal norm; its standard deviation is 3,000 "
            "thousand barrels) released Wednesday 10:30 ET moves WTI that day (-0.8% per sd) and drifts it the "
            "same way over the 5 trading days after the release day."
        ),
        trigger="crude stock change minus its 5-year same-week average, on the release day",
        instruments=["WTI", "BRENT"],
        horizon_days=5,
        size=-0.0030,
        unit="5-day log return after the release day per +3,000 thousand barrels of surprise (one sd)",
        tolerance=0.0025,
    ),
    PlantedEffect(
        name="mvrv_mean_reversion",
        description="High MVRV (market over realized value) z-scores precede weaker crypto returns.",
        trigger="MVRV 365-day z-score, clipped to +/-2.5, as published (next UTC day)",
        instruments=["BTC", "ETH"],
        horizon_days=10,
        size=-0.0100,
        unit="10-day log return per +1 z",
        tolerance=0.0120,
    ),
]


@dataclass(frozen=True)
class Asset:
    name: str
    factor_beta: float  # loading on the market factor (per unit factor return)
    idio_sigma: float  # daily idiosyncratic volatility
    start: float
    drift: float = 0.0
    anchor_growth: float = 0.0  # daily log growth of the level the price reverts to (equities: earnings)
    pull: float = 0.0  # share of the log distance to that level closed per day


def stationary_regime_drift() -> float:
    """The market factor's long-run mean daily drift: REGIME_MU weighted by the regime chain's stationary law."""
    values, vectors = np.linalg.eig(REGIME_TRANSITIONS.T)
    law = np.real(vectors[:, np.argmin(np.abs(values - 1.0))])
    return float(law / law.sum() @ REGIME_MU)


# Mean daily planted drift on the equity indices (VIX backwardation rebound, which only ever pushes up, plus
# momentum, mostly up in a rising market; COT reversals roughly cancel), measured over seeds 1-30: ~6.7% a year.
EQUITY_PLANTED_MEAN = 0.00025
EQUITY_PULL = 0.0012  # half-life ~2.3 years (NDX, more volatile: 0.0018): daily returns stay a random walk


def _equity(name: str, beta: float, idio: float, start: float, annual_growth: float, pull: float) -> Asset:
    """An equity index that grows `annual_growth` (log) a year in the long run from its level of January 2000.

    Why mean-corrected and anchored: the regime drift (beta x ~7% a year) and the planted effects (~7% a year on
    top) compounded freely over 26 years, and the random walk alone spreads the 2025 level by a factor of 2.3
    either way (one sd), so most seeds ended with SPX in the tens of thousands and NDX near a million. The
    constant drift now cancels the regime and planted means, and a slow pull towards the earnings-like trend
    keeps the level in the band of its real history; the planted effects stay as they are (conditional
    drifts, unchanged relative to other days).
    """
    growth = annual_growth / 252
    drift = growth - beta * stationary_regime_drift() - EQUITY_PLANTED_MEAN
    return Asset(name, beta, idio, start, drift, anchor_growth=growth, pull=pull)


# Business-day assets, priced in their own units. Yields and FX are handled separately.
# Real history: SPX 1,455 (Jan 2000) to ~6,000 (2025), NDX 3,790 to ~21,000.
EQUITY = (_equity("SPX", 1.00, 0.0020, 1455.0, 0.045, EQUITY_PULL), _equity("NDX", 1.25, 0.0045, 3790.0, 0.048, 0.0018))
COMMODITY = (
    Asset("WTI", 0.45, 0.0160, 25.5, 0.0001),
    Asset("NATGAS", 0.10, 0.0330, 2.6, 0.0000),
    Asset("GOLD", -0.15, 0.0090, 285.0, 0.0002),
    Asset("SILVER", 0.20, 0.0160, 5.2, 0.0001),
)
# COT market per contract; sign maps the contract's price to what speculators chase.
COT_MARKETS: dict[str, tuple[str, str]] = {
    # code: (contract, report family)
    "13874A": ("SPX", "financial"),
    "209742": ("NDX", "financial"),
    "043602": ("UST10Y_FUT", "financial"),
    "099741": ("EURUSD", "financial"),
    "097741": ("JPYUSD", "financial"),
    "098662": ("USDX", "financial"),
    "1170E1": ("VIX_FUT", "financial"),
    "133741": ("BTC", "financial"),
    "146021": ("ETH", "financial"),
    "067651": ("WTI", "physical"),
    "06765T": ("BRENT", "physical"),
    "023651": ("NATGAS", "physical"),
    "088691": ("GOLD", "physical"),
    "084691": ("SILVER", "physical"),
}
COT_EFFECT_CONTRACTS = {"SPX", "NDX", "EURUSD", "JPYUSD", "WTI", "BRENT", "NATGAS"}
COT_Z_THRESHOLD = 1.5
COT_EFFECT_DAILY = 0.0040 / 5
VIX_BACKWARDATION_DAILY = 0.0040 / 5
EIA_SAME_DAY_PER_SD = -0.008
EIA_DRIFT_DAILY_PER_SD = -0.0030 / 5
MVRV_DAILY_PER_Z = -0.0100 / 10
CRYPTO_PULL = 0.002  # per calendar day towards the adoption path (half-life ~1 year)
# daily probability of a 25bp policy hike / cut per regime (a 50bp cut in CRISIS)
POLICY_HIKE = np.array([0.010, 0.005, 0.0, 0.0])
POLICY_CUT = np.array([0.001, 0.003, 0.015, 0.04])
# FX and commodities pull this share of their log distance to a level per day
MEAN_REVERSION = 0.0015
# Crude: a stronger pull (half-life ~7 months) and 1.6% daily idiosyncratic volatility; with 0.15% and 1.9% the
# stationary spread of log WTI was 0.40, and seeds reached WTI 247 and Brent 279 (EIA's gate stops at 250).
COMMODITY_LEVELS = {"WTI": (62.0, 0.0032), "NATGAS": (3.5, MEAN_REVERSION)}
TSMOM_DAILY = 0.00008  # mild time-series momentum, sign of the 12-month return


def nyse_holidays(start: int = EPOCH.year, end: int = HORIZON.year) -> set[date]:
    return set(holidays.financial_holidays("NYSE", years=range(start, end + 1)).keys())


@lru_cache(maxsize=1)
def business_days() -> pd.DatetimeIndex:
    """NYSE trading days between EPOCH and HORIZON (holidays from the `holidays` package)."""
    hol = nyse_holidays()
    days = pd.bdate_range(EPOCH, HORIZON)
    return pd.DatetimeIndex([d for d in days if d.date() not in hol])


def cot_report_days(bdays: pd.DatetimeIndex) -> set[int]:
    """Indexes of COT position days: each week's Tuesday, or Monday when Tuesday is not a trading day."""
    by_week: dict[tuple[int, int], dict[int, int]] = {}
    for i, ts in enumerate(bdays):
        iso = ts.isocalendar()
        by_week.setdefault((iso.year, iso.week), {})[ts.weekday()] = i
    out: set[int] = set()
    for days in by_week.values():
        for wd in (1, 0, 2):
            if wd in days:
                out.add(days[wd])
                break
    return out


def _stream(seed: int, component: str) -> np.random.Generator:
    """An independent random stream per component, so adding draws to one never shifts another."""
    key = [seed, *component.encode()]
    return np.random.default_rng(np.random.SeedSequence(key))


@dataclass
class World:
    """The full simulated history from EPOCH to HORIZON. Frames are indexed by date (DatetimeIndex)."""

    seed: int
    regimes: pd.Series  # business days -> regime name
    daily: pd.DataFrame  # business days: prices, yields, FX, vol indices, energy spot and futures
    crypto: pd.DataFrame  # calendar days: BTC_* and ETH_* on-chain metrics
    positioning: pd.DataFrame  # Tuesdays x (code, field) long format, see _positioning
    petroleum: pd.DataFrame  # weeks ending Friday: crude stocks, surprise, refinery util, production, trade
    gas_storage: pd.DataFrame  # weeks ending Friday: working gas
    effects_log: pd.DataFrame  # business days: planted drift applied, per effect and asset (for audits)
    # business days: the hidden state VIX is made of at the close (see `_volatility_indices`), for the oracle
    vix_state: pd.DataFrame = field(default_factory=pd.DataFrame)

    def daily_between(self, start: date, end: date) -> pd.DataFrame:
        return self.daily.loc[pd.Timestamp(start) : pd.Timestamp(end)]


def _regime_path(rng: np.random.Generator, n: int) -> np.ndarray:
    states = np.empty(n, dtype=np.int64)
    state = 1
    u = rng.random(n)
    cum = REGIME_TRANSITIONS.cumsum(axis=1)
    for i in range(n):
        states[i] = state
        state = int(np.searchsorted(cum[state], u[i], side="right"))
        state = min(state, len(REGIMES) - 1)
    return states


def _seasonal_crude_change(week_of_year: np.ndarray) -> np.ndarray:
    """Typical weekly change of US crude stocks (thousand barrels): builds in winter/spring, draws in summer."""
    return 2200.0 * np.cos(2 * np.pi * (week_of_year - 10) / 52.0)


def _seasonal_gas_change(week_of_year: np.ndarray) -> np.ndarray:
    """Typical weekly change of working gas (Bcf): injections April to October, withdrawals in winter."""
    return 95.0 * np.sin(2 * np.pi * (week_of_year - 14) / 52.0) - 5.0


# Prices, rates and FX simulated on business days, in this column order (index into the state arrays).
PRICE_NAMES = (
    "SPX",
    "NDX",
    "WTI",
    "BRENT",
    "NATGAS",
    "GOLD",
    "SILVER",
    "EURUSD",
    "JPYUSD",
    "USDX",
    "UST10Y_FUT",
)
PRICE_INDEX = {name: k for k, name in enumerate(PRICE_NAMES)}
# Open interest of each COT market (COT_MARKETS order) on the first report day.
START_OPEN_INTEREST = (
    500_000,
    250_000,
    3_000_000,
    600_000,
    180_000,
    40_000,
    300_000,
    15_000,
    8_000,
    1_800_000,
    200_000,
    1_200_000,
    480_000,
    150_000,
)


@dataclass(frozen=True)
class _Draws:
    """Every random number of a world, one independent stream per component (see `_stream`)."""

    factor: np.ndarray
    idio: dict[str, np.ndarray]
    brent: np.ndarray
    fx: np.ndarray
    rates: np.ndarray
    vol: np.ndarray
    positioning: np.ndarray
    inventories: np.ndarray
    curve: np.ndarray
    policy: np.ndarray

    @classmethod
    def of(cls, seed: int, n: int) -> _Draws:
        return cls(
            factor=_stream(seed, "factor").standard_normal(n),
            idio={a.name: _stream(seed, f"idio/{a.name}").standard_normal(n) for a in (*EQUITY, *COMMODITY)},
            brent=_stream(seed, "idio/BRENT").standard_normal(n),
            fx=_stream(seed, "fx").standard_normal((n, 3)),
            rates=_stream(seed, "rates").standard_normal((n, 3)),
            vol=_stream(seed, "vol").standard_normal((n, 4)),
            positioning=_stream(seed, "positioning").standard_normal((n // 5 + 10, len(COT_MARKETS), 3)),
            inventories=_stream(seed, "inventories").standard_normal((n // 5 + 10, 6)),
            curve=_stream(seed, "curves").standard_normal((n, 2)),
            policy=_stream(seed, "policy").random(n),
        )


@dataclass(frozen=True)
class _Factor:
    """The market factor's daily returns with volatility clustering."""

    garch: np.ndarray  # today's GJR-GARCH volatility multiplier (unit mean)
    returns: np.ndarray  # the factor's return: regime sigma x multiplier x shock
    vol_state: np.ndarray  # the volatility expected after today's close (what VIX prices at the close)


GARCH_PERSISTENCE = 0.88  # E[h'] = 0.12 + 0.88 h: the variance multiplier reverts to 1


def _market_factor(sigma_reg: np.ndarray, shocks: np.ndarray) -> _Factor:
    """GJR-GARCH(1,1) multiplier with unit mean: down days raise tomorrow's volatility more than up days (the
    leverage effect), which is what makes VIX rise when equities fall."""
    n = len(shocks)
    garch = np.empty(n)
    garch_next = np.empty(n)
    h = 1.0
    fac = np.empty(n)
    for i in range(n):
        garch[i] = np.sqrt(h)
        fac[i] = sigma_reg[i] * garch[i] * shocks[i]
        shock = shocks[i] ** 2
        h = 0.04 + 0.03 * shock + (0.10 * shock if shocks[i] < 0 else 0.0) + GARCH_PERSISTENCE * h
        garch_next[i] = np.sqrt(h)
    return _Factor(garch=garch, returns=fac, vol_state=sigma_reg * garch_next)


@dataclass
class _Markets:
    """The state the daily loop carries: price paths, rates, positioning, inventories and the planted effects
    scheduled by releases (a release on day i moves prices from the day after it is known)."""

    logp: np.ndarray
    ret: np.ndarray
    effect: np.ndarray  # planted drift applied per day (audit)
    y10: np.ndarray
    y2: np.ndarray
    y3m: np.ndarray
    policy: float = 5.5
    spec: np.ndarray = field(default_factory=lambda: np.zeros(len(COT_MARKETS)))
    amgr: np.ndarray = field(default_factory=lambda: np.zeros(len(COT_MARKETS)))
    oi: np.ndarray = field(default_factory=lambda: np.array(START_OPEN_INTEREST, dtype=float))
    spec_hist: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in COT_MARKETS})
    pos_rows: list[tuple] = field(default_factory=list)
    pending_cot: dict[int, list[tuple[int, float]]] = field(default_factory=dict)  # day -> [(asset, drift)]
    crude: float = 445_000.0
    gas: float = 2_300.0
    pet_rows: list[tuple] = field(default_factory=list)
    gas_rows: list[tuple] = field(default_factory=list)
    pending_eia: dict[int, float] = field(default_factory=dict)

    @classmethod
    def start(cls, n: int) -> _Markets:
        logp = np.zeros((n, len(PRICE_NAMES)))
        start = {a.name: np.log(a.start) for a in (*EQUITY, *COMMODITY)}
        start.update(
            {"BRENT": np.log(26.5), "EURUSD": np.log(1.01), "JPYUSD": np.log(1 / 102.0), "USDX": np.log(100.0)}
        )
        start["UST10Y_FUT"] = np.log(100.0)
        for name, k in PRICE_INDEX.items():
            logp[0, k] = start[name]
        # yields (percent) live alongside; the bond future follows the 10y yield with duration 8
        y10, y2, y3m = np.empty(n), np.empty(n), np.empty(n)
        y10[0], y2[0], y3m[0] = 6.4, 6.2, 5.4
        return cls(
            logp=logp,
            ret=np.zeros((n, len(PRICE_NAMES))),
            effect=np.zeros((n, len(PRICE_NAMES))),
            y10=y10,
            y2=y2,
            y3m=y3m,
        )


def _planted_drift(m: _Markets, i: int) -> np.ndarray:
    """Planted effects active on day i, decided from information released before it."""
    idx = PRICE_INDEX
    drift = np.zeros(len(PRICE_NAMES))
    for k, daily in m.pending_cot.get(i, []):
        drift[k] += daily
    drift[idx["WTI"]] += m.pending_eia.get(i, 0.0)
    drift[idx["BRENT"]] += m.pending_eia.get(i, 0.0)
    return drift


def anchor_log_level(asset: Asset, day: int | np.ndarray) -> float | np.ndarray:
    """The log level `asset` reverts to on business day `day` (index from EPOCH)."""
    return np.log(asset.start) + asset.anchor_growth * day


def _day_returns(m: _Markets, i: int, states: np.ndarray, mu: np.ndarray, factor: _Factor, draws: _Draws) -> np.ndarray:
    """Day i's returns before planted drift: factor and idiosyncratic moves, the equities' pull towards their
    trend, FX and rates (which move the policy rate and yields in `m`)."""
    idx = PRICE_INDEX
    betas = {a.name: a for a in (*EQUITY, *COMMODITY)}
    logp = m.logp
    f = factor.returns[i]
    r = np.zeros(len(PRICE_NAMES))
    for nm in ("SPX", "NDX", "WTI", "NATGAS", "GOLD", "SILVER"):
        a = betas[nm]
        r[idx[nm]] = a.drift + a.factor_beta * (mu[i] + f) + a.idio_sigma * factor.garch[i] ** 0.5 * draws.idio[nm][i]
    if i:
        for a in EQUITY:
            r[idx[a.name]] -= a.pull * (logp[i - 1, idx[a.name]] - anchor_log_level(a, i - 1))
    r[idx["BRENT"]] = (
        r[idx["WTI"]]
        + 0.006 * draws.brent[i]
        - 0.02 * ((logp[i - 1, idx["BRENT"]] - logp[i - 1, idx["WTI"]]) - np.log(1.06) if i else 0.0)
    )
    prev = logp[i - 1] if i else logp[0]
    r_fx = draws.fx
    r[idx["EURUSD"]] = 0.15 * f + 0.0050 * r_fx[i, 0] - MEAN_REVERSION * (prev[idx["EURUSD"]] - np.log(1.15))
    r[idx["JPYUSD"]] = -0.25 * f + 0.0055 * r_fx[i, 1] - MEAN_REVERSION * (prev[idx["JPYUSD"]] - np.log(1 / 112.0))
    r[idx["USDX"]] = (
        -0.20 * f + 0.0030 * r_fx[i, 2] - 0.3 * r[idx["EURUSD"]] - MEAN_REVERSION * (prev[idx["USDX"]] - np.log(105.0))
    )
    for nm, (level, pull) in COMMODITY_LEVELS.items():
        r[idx[nm]] -= pull * (prev[idx[nm]] - np.log(level))
    # rates: 10y follows risk appetite and mean-reverts; 2y follows the policy rate; 3m sits on policy
    y10, y2, y3m, r_rates = m.y10, m.y2, m.y3m, draws.rates
    if i:
        u = draws.policy[i]
        if u < POLICY_HIKE[states[i]]:
            m.policy = min(6.0, m.policy + 0.25)
        elif u > 1.0 - POLICY_CUT[states[i]]:
            m.policy = max(0.0, m.policy - (0.5 if states[i] == 3 else 0.25))
        policy = m.policy
        y3m[i] = max(0.01, y3m[i - 1] + 0.08 * (policy - 0.05 - y3m[i - 1]) + 0.01 * r_rates[i, 0])
        y2[i] = max(0.05, y2[i - 1] + 0.03 * (policy + 0.1 - y2[i - 1]) + 3.0 * f + 0.045 * r_rates[i, 1])
        y10[i] = max(0.3, y10[i - 1] + 0.004 * (0.6 * policy + 2.2 - y10[i - 1]) + 4.0 * f + 0.050 * r_rates[i, 0])
    r[idx["UST10Y_FUT"]] = -8.0 * (y10[i] - y10[i - 1]) / 100.0 if i else 0.0
    return r


def _momentum_drift(m: _Markets, i: int) -> np.ndarray:
    """Time-series momentum (mild): the sign of the 12-month return, from yesterday's close."""
    drift = np.zeros(len(PRICE_NAMES))
    if i >= 252:
        for nm in ("SPX", "NDX", "WTI", "GOLD", "EURUSD", "JPYUSD"):
            k = PRICE_INDEX[nm]
            drift[k] += TSMOM_DAILY * np.sign(m.logp[i - 1, k] - m.logp[i - 252, k])
    return drift


def _cot_report(
    m: _Markets, i: int, week: int, bdays: pd.DatetimeIndex, bday_pos: dict[date, int], factor: _Factor, draws: _Draws
) -> None:
    """Tuesday positions (the first trading day on or after Tuesday in the week), released Friday: positioning
    follows each market's 60-day trend; an extreme speculator z-score plants a reversal after the release."""
    idx = PRICE_INDEX
    n = len(bdays)
    r_pos = draws.positioning
    fac, vol_state = factor.returns, factor.vol_state
    w = min(week, r_pos.shape[0] - 1)
    release = _trading_index_on_or_after(bday_pos, cot_release_date(bdays[i].date()))  # CFTC's calendar
    for mk, code in enumerate(COT_MARKETS):
        contract = COT_MARKETS[code][0]
        if contract in idx:
            k = idx[contract]
            tr = m.logp[i, k] - m.logp[max(0, i - 60), k]
            vol = np.std(m.ret[max(1, i - 60) : i + 1, k]) * np.sqrt(60) + 1e-4
        elif contract == "VIX_FUT":
            tr, vol = -np.log(vol_state[i] / vol_state[max(0, i - 60)]), 0.5
        else:  # BTC/ETH futures positioning follows the crypto frame later; use the factor trend
            tr, vol = float(fac[max(0, i - 60) : i + 1].sum()), float(np.sqrt(60) * 0.012)
        target = 0.35 * np.tanh(1.2 * tr / vol)
        m.spec[mk] = 0.80 * m.spec[mk] + 0.20 * target + 0.030 * r_pos[w, mk, 0]
        m.amgr[mk] = 0.95 * m.amgr[mk] + 0.05 * (0.25 + 0.5 * target) + 0.015 * r_pos[w, mk, 1]
        m.oi[mk] = max(2_000.0, m.oi[mk] * np.exp(0.02 * r_pos[w, mk, 2] + 0.0005))
        hist = m.spec_hist[code]
        hist.append(m.spec[mk])
        z = np.nan
        if len(hist) >= 52:
            window = np.array(hist[-52:])
            sd = window.std()
            z = (m.spec[mk] - window.mean()) / sd if sd > 0 else 0.0
        m.pos_rows.append((bdays[i], code, m.oi[mk], m.spec[mk], m.amgr[mk], z))
        if contract in COT_EFFECT_CONTRACTS and np.isfinite(z) and abs(z) > COT_Z_THRESHOLD and release:
            k = idx[contract]
            for j in range(release + 1, release + 6):
                if j < n:
                    m.pending_cot.setdefault(j, []).append((k, -np.sign(z) * COT_EFFECT_DAILY))


def _eia_week(
    m: _Markets, i: int, week: int, bdays: pd.DatetimeIndex, bday_pos: dict[date, int], draws: _Draws
) -> None:
    """The petroleum and gas storage week ending Friday (day i), released on EIA's calendar; a crude stocks
    surprise plants a same-day move and a drift on WTI and Brent."""
    n = len(bdays)
    r_inv = draws.inventories
    d = bdays[i].date()
    w = min(week, r_inv.shape[0] - 1)
    woy = pd.Timestamp(d).isocalendar().week
    expected = float(_seasonal_crude_change(np.array([woy]))[0])
    surprise_z = float(r_inv[w, 0])
    m.crude += expected + 3_000.0 * surprise_z - 0.002 * (m.crude - 440_000.0) * 5
    util = float(np.clip(89.0 + 4.0 * np.sin(2 * np.pi * (woy - 12) / 52.0) + 1.5 * r_inv[w, 1], 70, 97))
    production = 8_000 + 5_500 / (1 + np.exp(-(i - 3_000) / 500)) + 120 * r_inv[w, 2]
    imports = 7_000 + 250 * r_inv[w, 3] - 0.6 * (production - 8_000) * 0.5
    exports = 1_000 + 3_500 / (1 + np.exp(-(i - 4_200) / 400)) + 200 * r_inv[w, 4]
    gexp = float(_seasonal_gas_change(np.array([woy]))[0])
    m.gas = float(np.clip(m.gas + gexp + 12.0 * r_inv[w, 5] - 0.01 * (m.gas - 2_700.0), 600, 4_200))
    # EIA's own release calendar (federal holidays shift the reports), as a New York trading day
    wed = _trading_index_on_or_after(bday_pos, petroleum_release(d).at.astimezone(NEW_YORK).date())
    thu = _trading_index_on_or_after(bday_pos, gas_storage_release(d).at.astimezone(NEW_YORK).date())
    release_day = bdays[wed] if wed is not None else pd.NaT
    m.pet_rows.append((bdays[i], m.crude, expected, surprise_z, util, production, imports, exports, release_day))
    m.gas_rows.append((bdays[i], m.gas, gexp, bdays[thu] if thu is not None else pd.NaT))
    if wed is not None and wed < n:
        m.pending_eia[wed] = m.pending_eia.get(wed, 0.0) + EIA_SAME_DAY_PER_SD * surprise_z
        for j in range(wed + 1, wed + 6):
            m.pending_eia[j] = m.pending_eia.get(j, 0.0) + EIA_DRIFT_DAILY_PER_SD * surprise_z


def _simulate_markets(
    bdays: pd.DatetimeIndex, states: np.ndarray, draws: _Draws, factor: _Factor, rebound: np.ndarray
) -> _Markets:
    """The daily loop: each day's returns with the planted effects known by then (`rebound`: the VIX
    backwardation drift of SPX and NDX per day), then that day's COT report and EIA week, whose releases plant
    the effects of the days after them."""
    n = len(bdays)
    mu = REGIME_MU[states]
    bday_pos = {d: i for i, d in enumerate(bdays.date)}
    weekday = bdays.weekday.to_numpy()
    week_id = ((bdays - pd.Timestamp(EPOCH)).days // 7).to_numpy()
    cot_days = cot_report_days(bdays)
    m = _Markets.start(n)
    week_counter = 0
    last_week = week_id[0]
    for i in range(n):
        drift = _planted_drift(m, i)
        drift[[PRICE_INDEX["SPX"], PRICE_INDEX["NDX"]]] += rebound[i]
        r = _day_returns(m, i, states, mu, factor, draws)
        drift += _momentum_drift(m, i)
        r += drift
        m.effect[i] = drift
        m.logp[i] = (m.logp[i - 1] if i else m.logp[0]) + (r if i else 0.0)
        m.ret[i] = r if i else 0.0
        if week_id[i] != last_week or i == n - 1:
            last_week = week_id[i]
            week_counter += 1
        if i in cot_days:
            _cot_report(m, i, week_counter, bdays, bday_pos, factor, draws)
        if weekday[i] == 4:
            _eia_week(m, i, week_counter, bdays, bday_pos, draws)
    return m


@dataclass(frozen=True)
class _VolIndices:
    state: pd.DataFrame  # regime_sigma, garch_next, fear (mean-reverting noise), spot (the jump on falls)
    vix: np.ndarray
    vix3m: np.ndarray
    vix9d: np.ndarray
    skew: np.ndarray
    vvix: np.ndarray


VIX_KNEE, VIX_CEILING = 45.0, 85.0


def _implied_saturation(vix: np.ndarray) -> np.ndarray:
    """Implied volatility above VIX_KNEE rises ever more slowly towards VIX_CEILING (VIX's highest close is
    82.69). Why: in CRISIS the factor's realized volatility times the fear premium reaches 130 and more, which
    sat on a flat clip at 90 for weeks; option markets price extreme volatility with a saturating premium."""
    width = VIX_CEILING - VIX_KNEE
    return np.where(vix > VIX_KNEE, VIX_KNEE + width * np.tanh((vix - VIX_KNEE) / width), vix)


VIX_FEAR_AR, VIX_SPOT_AR = 0.93, 0.92  # daily persistence of VIX's two noise terms
VIX_FLOOR, VIX_OFFSET = 9.0, 2.0


def vix_level(vol_state: np.ndarray, fear: np.ndarray, spot: np.ndarray) -> np.ndarray:
    """VIX from the factor's volatility expected after the close (regime sigma x GARCH multiplier, daily) and its
    fear and spot terms: 1.15 x annualised percent x exp(fear + spot), plus the offset, above the floor, saturating
    towards the ceiling."""
    ann = vol_state * np.sqrt(252) * 100
    return _implied_saturation(np.clip(1.15 * ann * np.exp(fear + spot) + VIX_OFFSET, VIX_FLOOR, None))


def _volatility_indices(factor: _Factor, r_vol: np.ndarray, sigma_reg: np.ndarray) -> _VolIndices:
    """Volatility indices from the factor's volatility (annualised, percent); implied volatility jumps when the
    market falls, beyond what realized volatility implies."""
    n = len(factor.returns)
    ou = np.zeros((n, 4))
    spot_vol = np.zeros(n)
    for i in range(1, n):
        ou[i] = VIX_FEAR_AR * ou[i - 1] + 0.04 * r_vol[i]
        spot_vol[i] = VIX_SPOT_AR * spot_vol[i - 1] - 4.0 * factor.returns[i]
    garch_next = factor.vol_state / sigma_reg
    state = pd.DataFrame({"regime_sigma": sigma_reg, "garch_next": garch_next, "fear": ou[:, 0], "spot": spot_vol})
    vix = vix_level(factor.vol_state, ou[:, 0], spot_vol)
    long_run = 19.5
    vix3m = np.clip(vix**0.55 * long_run**0.45 * 1.13 * np.exp(0.25 * ou[:, 1]), 10.0, 70.0)
    vix9d = np.clip(vix * (vix / vix3m) ** 0.6 * np.exp(0.6 * ou[:, 2]), 7.0, 120.0)
    skew = np.clip(128 + 60 * ou[:, 3] - 0.15 * (vix - 19), 100, 170)
    vvix = np.clip(85 + 1.4 * (vix - 19) + 8 * ou[:, 2], 60, 200)
    return _VolIndices(state=state, vix=vix, vix3m=vix3m, vix9d=vix9d, skew=skew, vvix=vvix)


def _backwardation_rebound(vol: _VolIndices) -> np.ndarray:
    """VIX backwardation rebound: the drift of SPX and NDX on each day, for the 5 days after VIX > VIX3M (not
    stacking). The volatility indices depend on the factor only, so the daily loop can apply it like every other
    planted effect: the equities' trend pull, momentum and COT positioning then see the prices as published."""
    n = len(vol.vix)
    active = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(vol.vix > vol.vix3m):
        active[i + 1 : i + 6] = True
    return np.where(active, VIX_BACKWARDATION_DAILY, 0.0)


PETROLEUM_COLUMNS = [
    "week_ending",
    "crude_stocks",
    "seasonal_change",
    "surprise_z",
    "refinery_util",
    "production",
    "imports",
    "exports",
    "release_day",
]


def _daily_frame(
    bdays: pd.DatetimeIndex, states: np.ndarray, m: _Markets, vol: _VolIndices, pet: pd.DataFrame, r_curve: np.ndarray
) -> pd.DataFrame:
    """The business-day frame: regime, prices, vol indices, yields, FX, energy spot and futures curves (carry
    from crude stocks against their 5-year mean, gas seasonality) and the crude stock surprise on release days."""
    idx, logp = PRICE_INDEX, m.logp
    crude_dev = (
        (pet["crude_stocks"] - pet["crude_stocks"].rolling(260, min_periods=20).mean())
        .reindex(bdays, method="ffill")
        .fillna(0.0)
        .to_numpy()
    )
    carry_cl = np.clip(0.004 + crude_dev / 2_000_000 + 0.002 * r_curve[:, 0], -0.04, 0.05)
    carry_ng = 0.02 * np.cos(2 * np.pi * (bdays.dayofyear.to_numpy() - 30) / 365.0) + 0.004 * r_curve[:, 1]

    wti = np.exp(logp[:, idx["WTI"]])
    brent = np.exp(logp[:, idx["BRENT"]])
    hh = np.exp(logp[:, idx["NATGAS"]])
    daily = pd.DataFrame(index=bdays)
    daily["regime"] = [REGIMES[s] for s in states]
    daily["SPX"] = np.exp(logp[:, idx["SPX"]])
    daily["NDX"] = np.exp(logp[:, idx["NDX"]])
    daily["GOLD"] = np.exp(logp[:, idx["GOLD"]])
    daily["SILVER"] = np.exp(logp[:, idx["SILVER"]])
    daily["VIX"], daily["VIX3M"], daily["VIX9D"], daily["SKEW"] = vol.vix, vol.vix3m, vol.vix9d, vol.skew
    daily["VVIX"] = vol.vvix
    daily["DGS10"], daily["DGS2"], daily["DGS3MO"] = m.y10, m.y2, m.y3m
    daily["DEXUSEU"] = np.exp(logp[:, idx["EURUSD"]])
    daily["DEXJPUS"] = 1.0 / np.exp(logp[:, idx["JPYUSD"]])
    daily["DTWEXBGS"] = np.exp(logp[:, idx["USDX"]]) * 1.05
    daily["RWTC"], daily["RBRTE"], daily["RNGWHHD"] = wti, brent, hh
    for k in range(1, 5):
        daily[f"RCLC{k}"] = wti * np.exp(carry_cl * k / 12 + 0.002 * k * r_curve[:, 1])
        daily[f"RNGC{k}"] = hh * np.exp(carry_ng * k / 3 + 0.003 * k * r_curve[:, 0])
    daily["crude_stock_surprise_z"] = (
        pd.Series(pet.set_index("release_day")["surprise_z"].to_dict()).reindex(bdays).to_numpy()
    )
    return daily


@lru_cache(maxsize=4)
def build_world(seed: int) -> World:
    """One seed's whole history, in named steps: the regime path, the random draws, the market factor, the daily
    volatility indices and the backwardation rebound they plant, the daily loop (prices with the planted effects,
    COT reports, EIA weeks), then the frames."""
    bdays = business_days()
    n = len(bdays)
    states = _regime_path(_stream(seed, "regime"), n)
    draws = _Draws.of(seed, n)
    factor = _market_factor(REGIME_SIGMA[states], draws.factor)
    vol = _volatility_indices(factor, draws.vol, REGIME_SIGMA[states])
    markets = _simulate_markets(bdays, states, draws, factor, _backwardation_rebound(vol))
    pet = pd.DataFrame(markets.pet_rows, columns=PETROLEUM_COLUMNS).set_index("week_ending")
    daily = _daily_frame(bdays, states, markets, vol, pet, draws.curve)
    positioning = pd.DataFrame(
        markets.pos_rows,
        columns=["report_date", "code", "open_interest", "spec_net_share", "asset_mgr_net_share", "spec_z52"],
    )
    gas_df = pd.DataFrame(markets.gas_rows, columns=["week_ending", "working_gas", "seasonal_change", "release_day"])
    return World(
        seed=seed,
        regimes=daily["regime"],
        daily=daily,
        crypto=_crypto(seed, daily["SPX"], factor.returns, bdays),
        positioning=positioning,
        petroleum=pet,
        gas_storage=gas_df.set_index("week_ending"),
        effects_log=pd.DataFrame(markets.effect, index=bdays, columns=list(PRICE_NAMES)),
        vix_state=vol.state.set_index(bdays),
    )


def _trading_index_on_or_after(bday_pos: dict[date, int], day: date) -> int | None:
    """Index of the first trading day on or after `day` (None past the horizon)."""
    for extra in range(0, 10):
        key = day + timedelta(days=extra)
        if key in bday_pos:
            return bday_pos[key]
    return None


def _crypto(seed: int, spx: pd.Series, fac: np.ndarray, bdays: pd.DatetimeIndex) -> pd.DataFrame:
    """BTC and ETH on calendar days: prices, realized cap, MVRV and the rest of the community metrics."""
    all_days = pd.date_range(CRYPTO_EPOCH, HORIZON, freq="D")
    fac_all = pd.Series(fac, index=bdays).reindex(all_days).fillna(0.0)
    out = pd.DataFrame(index=all_days)
    # adoption: early growth `early` a day, fading over `fade` days (real: BTC 0.08 in 2010 to ~90,000 in 2025,
    # ETH 2.8 at launch in 2015 to ~3,500)
    for asset, beta, sigma, p0, supply0, launch, early, fade in (
        ("BTC", 1.6, 0.032, 0.08, 3.4e6, CRYPTO_EPOCH, 0.0055, 2000.0),
        ("ETH", 1.9, 0.038, 2.8, 72e6, date(2015, 8, 8), 0.0063, 800.0),
    ):
        days = all_days[all_days >= pd.Timestamp(launch)]
        n = len(days)
        fac_daily = fac_all.loc[days].to_numpy()
        z = _stream(seed, f"crypto/{asset}").standard_normal((n, 4))
        t = np.arange(n)
        supply = supply0 * (1 + t / 7000 * (5.0 if asset == "BTC" else 0.7)) ** 0.5
        cycle = 0.0008 * np.sin(2 * np.pi * t / (4 * 365.25))  # halving-like cycle in drift
        trend = early * np.exp(-t / fade) + 0.0006  # adoption: fast early growth that slows
        # the adoption path the price reverts to: without it, 15 years of 55% volatility spread the 2025 price by
        # a factor of ~15 either way (one sd) and seeds reached a BTC of 87 million or an ETH of 3.7 million
        adoption = np.log(p0) + np.r_[0.0, np.cumsum((trend + cycle)[1:])]
        logp = np.empty(n)
        rcap = np.empty(n)
        mvrv = np.empty(n)
        logp[0] = np.log(p0)
        rcap[0] = p0 * supply[0] * 0.9
        mvrv[0] = p0 * supply[0] / rcap[0]
        for i in range(1, n):
            zscore = 0.0
            if i > 367:
                # MVRV of D is published on D+1, so the return of day i can only react to day i-2's value
                window = mvrv[i - 367 : i - 2]
                sd = window.std()
                zscore = float(np.clip((mvrv[i - 2] - window.mean()) / sd, -2.5, 2.5)) if sd > 0 else 0.0
            r = trend[i] + cycle[i] + beta * fac_daily[i] + sigma * z[i, 0] + MVRV_DAILY_PER_Z * zscore
            r -= CRYPTO_PULL * (logp[i - 1] - adoption[i - 1])
            logp[i] = logp[i - 1] + r
            mcap_i = np.exp(logp[i]) * supply[i]
            rcap[i] = rcap[i - 1] + (mcap_i - rcap[i - 1]) / 200.0
            mvrv[i] = mcap_i / rcap[i]
        price = np.exp(logp)
        mcap = price * supply
        active = np.exp(np.log(1_000 + t * (90 if asset == "BTC" else 60)) + 0.35 * np.log(mvrv) + 0.08 * z[:, 1])
        tx_value = mcap * np.exp(np.log(0.015) + 0.25 * z[:, 2])
        lr = np.r_[0.0, np.diff(logp)]
        frame = pd.DataFrame(
            {
                f"{asset}_PriceUSD": price,
                f"{asset}_CapMrktCurUSD": mcap,
                f"{asset}_CapRealUSD": rcap,
                f"{asset}_CapMVRVCur": mvrv,
                f"{asset}_AdrActCnt": np.round(active),
                f"{asset}_TxTfrValAdjUSD": tx_value,
                f"{asset}_NVTAdj": mcap / tx_value,
                # in native units, as Coin Metrics publishes it (about 16% of supply, slowly dispersing)
                f"{asset}_SplyAdrTop100": (0.16 - 0.03 * t / 7000 + 0.001 * z[:, 1]) * supply,
                f"{asset}_VtyDayRet30d": pd.Series(lr).rolling(30).std().to_numpy(),
            },
            index=days,
        )
        if asset == "BTC":
            frame[f"{asset}_HashRate"] = np.exp(np.log(1e-3) + t * 0.0049 + 0.05 * z[:, 3])
        out = out.join(frame)
    return out


# worlds handed in from the disk cache (`world_cache.cached_world`), by seed and span: what `world_for` returns
# before building one
_REMEMBERED: dict[tuple[int, date, date], World] = {}


def world_span() -> tuple[date, date]:
    """The simulated history's first and last day, read when asked: a world is a function of its seed, its code
    and this span (a test that simulates past HORIZON moves it), so the disk cache keys on all three."""
    return EPOCH, HORIZON


def remember_world(world: World) -> None:
    """Make `world` this process's world for its seed and the current span (one loaded from the disk cache)."""
    _REMEMBERED[(world.seed, *world_span())] = world


def remembered_world(seed: int) -> World | None:
    return _REMEMBERED.get((seed, *world_span()))


def world_for(seed: int) -> World:
    """The process's world for a seed: one loaded from the disk cache (`world_cache.load_world`), else built once
    per process (~1.6 CPU s) and kept in memory."""
    remembered = remembered_world(seed)
    return remembered if remembered is not None else build_world(seed)


_Dated = TypeVar("_Dated", pd.DataFrame, pd.Series)


def lengthened(frame: _Dated, rows: int, *, business_days: bool) -> _Dated:
    """`frame` (dated index, oldest first) with exactly `rows` rows: its newest `rows`, or, when it is shorter,
    earlier dates in front that repeat its first values.

    Why: publishers ship longer histories than this world holds (VIX since 1990, DGS10 since 1962, Henry Hub since
    1997), and tests and benchmarks need files at that length (e.g. 1 bad row among 10,000). The world starts in
    2000, so the rows before it reuse real-looking values rather than invented dynamics.
    """
    if len(frame) >= rows:
        return frame.iloc[len(frame) - rows :]
    extra = rows - len(frame)
    first = pd.Timestamp(frame.index[0])
    step = pd.offsets.BDay() if business_days else pd.offsets.Day()
    dates = pd.date_range(end=first - step, periods=extra, freq=step)
    head = frame.iloc[np.arange(extra) % len(frame)].copy()
    head.index = dates if isinstance(frame.index, pd.DatetimeIndex) else pd.Index([d.date() for d in dates])
    head.index.name = frame.index.name
    return pd.concat([head, frame])
