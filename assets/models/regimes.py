"""Market regimes per symbol: Gaussian HMMs refitted on expanding windows and read through a causal forward filter.

Why this shape:
- Point in time. A model is fitted at a calendar refit date R (quarter starts by default) on rows dated strictly
  before R, with the standardization statistics of that training window only, and is applied to dates from R until
  the next refit. The probability reported for date D is the *filtered* posterior p(state_D | obs_1..D), computed
  by our own forward recursion in log space; hmmlearn's `predict_proba` returns smoothed posteriors, which use
  observations after D and would leak the future.
- Model size. The number of states (2 to 4) is chosen by BIC at every refit, each candidate fitted from several
  seeded initializations (plus a warm start from the previous refit) keeping the best likelihood.
- Covariance "diag" by default: 2K parameters per feature instead of K*F(F+1)/2, which matters for the short,
  rare high-volatility spells (a full 4x4 covariance per state fitted on ~100 crisis days is mostly noise), and
  BIC then rewards states rather than correlations. "full" is supported (parameter count and filtering included).
- Stable meanings. After every fit the states are reordered by mean return (descending, then volatility
  ascending) and named from their annualized Sharpe ratio and volatility, so a refit cannot flip what "state 0"
  or "BULL" means. Names are a documented rule (`name_states`), not a fitted quantity.

Missing observations (the first rows before the 20-day volatility exists, a market-wide VIX value missing on a
crypto weekend beyond the forward-fill limit) are marginalized in the filter: with Gaussian emissions the
likelihood of the observed dimensions is the marginal density, and a row with nothing observed is a pure
prediction step. Training uses complete rows only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # imported where regimes are fitted, not with the definitions
    from hmmlearn.hmm import GaussianHMM

logging.getLogger("hmmlearn").setLevel(logging.ERROR)  # "model is not converging" is expected on some seeds

LOG_2PI = math.log(2.0 * math.pi)


class Regime(StrEnum):
    """Regime names. The first six can name a fitted state; WEAK_BULL, WEAK_BEAR and RECOVERY only a date."""

    STRONG_BULL = "STRONG_BULL"
    BULL = "BULL"
    WEAK_BULL = "WEAK_BULL"
    SIDEWAYS = "SIDEWAYS"
    WEAK_BEAR = "WEAK_BEAR"
    BEAR = "BEAR"
    STRONG_BEAR = "STRONG_BEAR"
    CRISIS = "CRISIS"
    RECOVERY = "RECOVERY"


STATE_REGIMES: tuple[Regime, ...] = (
    Regime.STRONG_BULL,
    Regime.BULL,
    Regime.SIDEWAYS,
    Regime.BEAR,
    Regime.STRONG_BEAR,
    Regime.CRISIS,
)
BULLISH: frozenset[str] = frozenset({Regime.STRONG_BULL, Regime.BULL, Regime.WEAK_BULL, Regime.RECOVERY})
BEARISH: frozenset[str] = frozenset({Regime.WEAK_BEAR, Regime.BEAR, Regime.STRONG_BEAR, Regime.CRISIS})
PROB_COLUMNS: dict[Regime, str] = {name: f"prob_{name.value.lower()}" for name in STATE_REGIMES}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ObservationSpec(_Strict):
    """One observation feature: a features column, optionally log-transformed (volatility levels are log-normal)."""

    column: str
    log: bool = False

    @property
    def name(self) -> str:
        return f"log_{self.column}" if self.log else self.column


class RegimeConfig(_Strict):
    """Everything that decides a regime fit. Defaults are the production choice; tests shrink them."""

    observations: tuple[ObservationSpec, ...] = (
        ObservationSpec(column="ret_1d"),
        ObservationSpec(column="rvol_20d", log=True),
        ObservationSpec(column="vix", log=True),
        ObservationSpec(column="vix_vix3m_ratio"),
    )
    return_column: str = Field("ret_1d", description="the observation whose state mean/volatility names the state")
    ffill_columns: tuple[str, ...] = Field(
        ("vix", "vix_vix3m_ratio"),
        description="market-wide columns carried forward over rows where they are missing (crypto weekends)",
    )
    ffill_limit: int = Field(5, ge=0, description="at most this many rows carried forward")
    candidate_states: tuple[int, ...] = (2, 3, 4)
    covariance_type: Literal["diag", "full"] = "diag"
    n_init: int = Field(3, ge=1, description="seeded random initializations per candidate")
    warm_start: bool = Field(True, description="also start each candidate from the previous refit's parameters")
    n_iter: int = Field(100, ge=1)
    tol: float = Field(1e-3, gt=0, description="EM stops when the log-likelihood gains less than this")
    seed: int = 7
    refit_frequency: Literal["MS", "QS", "YS"] = Field("QS", description="calendar refit schedule (pandas alias)")
    min_train_obs: int = Field(504, ge=50, description="complete rows needed before the first fit (~2 years)")
    # naming (see `name_states`)
    strong_sharpe: float = Field(1.0, gt=0, description="|annualized Sharpe| at or beyond: STRONG_BULL/STRONG_BEAR")
    trend_sharpe: float = Field(0.3, gt=0, description="|annualized Sharpe| at or beyond: BULL/BEAR; else SIDEWAYS")
    name_hysteresis: float = Field(0.25, ge=0, description="Sharpe margin before a refit renames a state")
    crisis_vol_ratio: float = Field(1.5, gt=1, description="CRISIS needs this multiple of the calmest state's vol")
    crisis_min_states: int = Field(3, ge=2, description="CRISIS is only named in models with this many states")
    confidence_threshold: float = Field(
        0.6, gt=0, lt=1, description="below: BULL-ish -> WEAK_BULL, BEAR-ish -> WEAK_BEAR"
    )
    recovery_window: int = Field(20, ge=1, description="rows after a bearish spell in which a bullish date is RECOVERY")
    recovery_min_spell: int = Field(5, ge=1, description="consecutive bearish rows that make a spell")
    periods_per_year: dict[str, int] = Field(default_factory=lambda: {"NYSE": 252, "CRYPTO": 365})

    @model_validator(mode="after")
    def _consistent(self) -> RegimeConfig:
        names = [spec.column for spec in self.observations]
        if self.return_column not in names:
            raise ValueError(f"return_column {self.return_column!r} must be one of the observations {names}")
        if len(set(names)) != len(names):
            raise ValueError("observation columns must be distinct")
        if not self.candidate_states or min(self.candidate_states) < 2:
            raise ValueError("candidate_states must be at least 2 states each")
        return self

    @property
    def feature_names(self) -> list[str]:
        return [spec.name for spec in self.observations]


class CandidateFit(_Strict):
    """One candidate number of states at one refit: its best initialization and its BIC."""

    n_states: int
    log_likelihood: float
    n_params: int
    bic: float
    best_init: str = Field(description="'warm' or 'seed=<n>'")
    converged: bool


class StateSummary(_Strict):
    """A fitted state in the returned order: what it means in the return's own units."""

    state: int
    name: Regime
    mean_return_daily: float
    vol_daily: float
    mean_return_ann: float
    vol_ann: float
    sharpe_ann: float
    expected_duration: float = Field(description="1 / (1 - p_stay), in rows")
    stationary_share: float


class RegimeFit(_Strict):
    """A fitted regime model: the per-refit summary and every parameter needed to apply it (JSON-able)."""

    symbol: str
    fit_date: date = Field(description="refit date R: trained on rows dated < R, used for dates >= R")
    train_start: date
    train_end: date
    n_obs: int
    n_states: int
    covariance_type: Literal["diag", "full"]
    periods_per_year: int
    feature_names: list[str]
    feature_mean: list[float]
    feature_std: list[float]
    start_prob: list[float]
    transition_matrix: list[list[float]]
    means: list[list[float]] = Field(description="state means, standardized units")
    covariances: list[list[list[float]]] = Field(description="state covariance matrices, standardized units")
    log_likelihood: float
    bic: dict[int, float]
    candidates: list[CandidateFit]
    states: list[StateSummary]
    content_hash: str = ""

    @property
    def state_names(self) -> list[str]:
        return [s.name.value for s in self.states]


class RegimeRow(_Strict):
    """One output row: the regime of `symbol` at `trade_date` as known at that date's decision time."""

    symbol: str
    trade_date: date
    regime: Regime
    base_regime: Regime = Field(description="the name of the most probable state, before WEAK_/RECOVERY")
    state: int
    confidence: float = Field(description="filtered posterior of the most probable state")
    n_states: int
    probabilities: dict[str, float] = Field(description="filtered posterior per state regime name (summed)")
    state_probabilities: list[float]
    state_names: list[str]
    fit_date: date
    transition_matrix: list[list[float]]


@dataclass(frozen=True)
class RegimeResult:
    """Regimes of one or more symbols: the per-date frame (rows as `RegimeRow`) and every fit's summary."""

    frame: pd.DataFrame
    fits: list[RegimeFit]


# --------------------------------------------------------------------------------------------------- observations


def observation_frame(features: pd.DataFrame, config: RegimeConfig | None = None) -> pd.DataFrame:
    """Date-indexed observations of one symbol, transformed but not standardized (that is per training window).

    Market-wide columns are carried forward a few rows (a value known at an earlier date is still known); log
    transforms map non-positive values to NaN rather than inventing numbers.
    """
    config = config or RegimeConfig()
    if features["symbol"].nunique(dropna=False) > 1:
        raise ValueError("observation_frame takes the rows of one symbol")
    frame = features.assign(_date=pd.to_datetime(features["trade_date"])).sort_values("_date")
    if frame["_date"].duplicated().any():
        raise ValueError("duplicate trade_date rows for one symbol")
    out = pd.DataFrame(index=pd.DatetimeIndex(frame["_date"].to_numpy(), name="trade_date"))
    for spec in config.observations:
        values = pd.Series(pd.to_numeric(frame[spec.column], errors="coerce").to_numpy(dtype=float), index=out.index)
        if spec.column in config.ffill_columns and config.ffill_limit > 0:
            values = values.ffill(limit=config.ffill_limit)
        if spec.log:
            raw = values.to_numpy()
            with np.errstate(divide="ignore", invalid="ignore"):
                values = pd.Series(np.where(raw > 0, np.log(raw), np.nan), index=out.index)
        out[spec.name] = values.to_numpy(dtype=float)
    return out


def refit_dates(trade_dates: Sequence[date] | pd.DatetimeIndex, config: RegimeConfig | None = None) -> list[date]:
    """Calendar refit dates strictly after the first trade date and not after the last one."""
    config = config or RegimeConfig()
    index = pd.DatetimeIndex(pd.to_datetime(list(trade_dates))).sort_values()
    if len(index) == 0:
        return []
    schedule = pd.date_range(index[0] + pd.Timedelta(days=1), index[-1], freq=config.refit_frequency)
    return [ts.date() for ts in schedule]


# ---------------------------------------------------------------------------------------------------- HMM algebra


def count_parameters(n_states: int, n_features: int, covariance_type: str) -> int:
    """Free scalars of a Gaussian HMM: start (K-1), transitions K(K-1), means KF, covariances per type."""
    k, f = n_states, n_features
    covariance = {"diag": k * f, "full": k * f * (f + 1) // 2, "spherical": k, "tied": f * (f + 1) // 2}
    return (k - 1) + k * (k - 1) + k * f + covariance[covariance_type]


def emission_log_likelihood(x: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """log N(x_t | mean_k, cov_k) for every row and state, marginalizing missing (NaN) dimensions.

    Rows are grouped by their pattern of observed dimensions; each group uses the Cholesky factor of the
    observed sub-covariance and an elementwise forward substitution, so a row's value never depends on which
    other rows are in the array (the truncation-invariance tests compare bytes). A row with nothing observed
    gets 0 for every state (the filter then only predicts).
    """
    x = np.asarray(x, dtype=float)
    means = np.asarray(means, dtype=float)
    covariances = np.asarray(covariances, dtype=float)
    n_rows, n_states = x.shape[0], means.shape[0]
    out = np.zeros((n_rows, n_states))
    observed = ~np.isnan(x)
    patterns, inverse = np.unique(observed, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    for p, pattern in enumerate(patterns):
        dims = np.flatnonzero(pattern)
        if dims.size == 0:
            continue
        rows = np.flatnonzero(inverse == p)
        xs = x[np.ix_(rows, dims)]
        for k in range(n_states):
            chol = np.linalg.cholesky(covariances[k][np.ix_(dims, dims)])
            resid = xs - means[k, dims]
            z = np.empty_like(resid)
            quad = np.zeros(rows.size)
            for i in range(dims.size):
                acc = resid[:, i].copy()
                for j in range(i):
                    acc -= chol[i, j] * z[:, j]
                z[:, i] = acc / chol[i, i]
                quad += z[:, i] * z[:, i]
            log_det = 2.0 * float(np.sum(np.log(np.diag(chol))))
            out[rows, k] = -0.5 * (dims.size * LOG_2PI + log_det + quad)
    return out


def forward_filter(log_emission: np.ndarray, start_prob: np.ndarray, transmat: np.ndarray) -> np.ndarray:
    """Filtered posteriors p(state_t | obs_1..t) by the forward algorithm, normalized in log space at every step.

    log a_0 = log pi + log b_0; log a_t = log b_t + log sum_i exp(log a_{t-1,i}) A_ij, each step shifted by its
    maximum and renormalized (log-sum-exp) so it stays a log-probability vector. The value at t uses rows 0..t
    only. Plain Python floats: for K <= 4 states this is three times faster than numpy calls on tiny arrays.
    """
    log_emission = np.asarray(log_emission, dtype=float)
    n_rows, n_states = log_emission.shape
    out = np.empty((n_rows, n_states))
    if n_rows == 0:
        return out
    a = np.asarray(transmat, dtype=float).tolist()
    e = log_emission.tolist()
    states = range(n_states)
    current = [_log(p) + x for p, x in zip(np.asarray(start_prob, dtype=float).tolist(), e[0], strict=True)]
    current = _normalize_log(current)
    rows = [current]
    for t in range(1, n_rows):
        shift = max(current)
        weights = [math.exp(c - shift) for c in current]
        emission = e[t]
        step = []
        for j in states:
            total = 0.0
            for i in states:
                total += weights[i] * a[i][j]
            step.append(_log(total) + shift + emission[j])
        current = _normalize_log(step)
        rows.append(current)
    out[:] = rows
    return np.exp(out)


def _log(value: float) -> float:
    return math.log(value) if value > 0 else -math.inf


def _normalize_log(values: list[float]) -> list[float]:
    shift = max(values)
    if not math.isfinite(shift):
        raise FloatingPointError("every state has zero probability: observations impossible under the model")
    total = shift + math.log(sum(math.exp(v - shift) for v in values))
    return [v - total for v in values]


def filtered_posteriors(observations: pd.DataFrame, fit: RegimeFit) -> np.ndarray:
    """Filtered posteriors of `fit`'s states (its order) over every row of `observations`, from its first row.

    Standardized with the fit's training statistics; the start probabilities apply to the first row given.
    """
    x = observations[fit.feature_names].to_numpy(dtype=float)
    x = (x - np.asarray(fit.feature_mean)) / np.asarray(fit.feature_std)
    log_b = emission_log_likelihood(x, np.asarray(fit.means), np.asarray(fit.covariances))
    return forward_filter(log_b, np.asarray(fit.start_prob), np.asarray(fit.transition_matrix))


# --------------------------------------------------------------------------------------------------------- naming


def _bands(config: RegimeConfig) -> dict[Regime, tuple[float, float]]:
    s, t = config.strong_sharpe, config.trend_sharpe
    return {
        Regime.STRONG_BULL: (s, math.inf),
        Regime.BULL: (t, s),
        Regime.SIDEWAYS: (-t, t),
        Regime.BEAR: (-s, -t),
        Regime.STRONG_BEAR: (-math.inf, -s),
    }


def name_states(
    mean_ann: Sequence[float],
    vol_ann: Sequence[float],
    config: RegimeConfig | None = None,
    previous: Sequence[Regime | str] | None = None,
) -> list[Regime]:
    """Name states (given in mean-return order) from their annualized mean return and volatility.

    Rule: Sharpe = mean / vol (annualized). Sharpe >= strong_sharpe: STRONG_BULL; >= trend_sharpe: BULL;
    >= -trend_sharpe: SIDEWAYS; >= -strong_sharpe: BEAR; else STRONG_BEAR. Then, in a model with at least
    crisis_min_states states, the highest-volatility state is CRISIS if its mean is negative and its volatility is
    at least crisis_vol_ratio times the calmest state's. Sharpe, not raw return, so one rule fits SPX and BTC.

    Hysteresis: when `previous` (the names of the previous refit's states, same count, same order) is given, a
    state keeps its previous Sharpe-band name while its Sharpe stays within name_hysteresis of that band. A
    state's mean is the noisiest thing an HMM estimates; consecutive expanding-window refits share most of their
    data, so without this a Sharpe hovering at a threshold would rename the state at every refit.
    Two states may share a name (two calm bullish states); their probabilities are summed per name.
    """
    config = config or RegimeConfig()
    bands = _bands(config)
    prior = list(previous) if previous is not None and len(previous) == len(mean_ann) else None
    names: list[Regime] = []
    for k, (mu, vol) in enumerate(zip(mean_ann, vol_ann, strict=True)):
        sharpe = mu / vol if vol > 0 else 0.0
        name = next(n for n, (lo, hi) in bands.items() if lo <= sharpe < hi)
        if prior is not None and Regime(prior[k]) in bands and Regime(prior[k]) is not name:
            lo, hi = bands[Regime(prior[k])]
            if lo - config.name_hysteresis <= sharpe < hi + config.name_hysteresis:
                name = Regime(prior[k])
        names.append(name)
    vols = list(vol_ann)
    if len(vols) >= config.crisis_min_states:
        wild = int(np.argmax(vols))
        if mean_ann[wild] < 0 and vols[wild] >= config.crisis_vol_ratio * min(vols):
            names[wild] = Regime.CRISIS
    return names


def date_regimes(base: Sequence[str], confidence: Sequence[float], config: RegimeConfig | None = None) -> list[Regime]:
    """Per-date regime from the top state's name and posterior, in date order (one symbol).

    WEAK_: confidence below confidence_threshold turns STRONG_BULL/BULL into WEAK_BULL and BEAR/STRONG_BEAR/CRISIS
    into WEAK_BEAR (SIDEWAYS stays). RECOVERY: a bullish date within recovery_window rows after the end of a spell
    of at least recovery_min_spell consecutive bearish dates (WEAK_BEAR, BEAR, STRONG_BEAR, CRISIS). Only earlier
    dates are looked at, so the label at D is known at D.
    """
    config = config or RegimeConfig()
    weak: list[Regime] = []
    for name, conf in zip(base, confidence, strict=True):
        regime = Regime(name)
        if conf < config.confidence_threshold:
            if regime in (Regime.STRONG_BULL, Regime.BULL):
                regime = Regime.WEAK_BULL
            elif regime in (Regime.BEAR, Regime.STRONG_BEAR, Regime.CRISIS):
                regime = Regime.WEAK_BEAR
        weak.append(regime)
    out: list[Regime] = []
    run = 0  # current run of bearish dates
    last_spell_end: int | None = None  # index of the last date of the latest qualifying spell
    for i, regime in enumerate(weak):
        if regime in BEARISH:
            run += 1
            if run >= config.recovery_min_spell:
                last_spell_end = i
            out.append(regime)
            continue
        run = 0
        if regime in BULLISH and last_spell_end is not None and i - last_spell_end <= config.recovery_window:
            out.append(Regime.RECOVERY)
        else:
            out.append(regime)
    return out


# -------------------------------------------------------------------------------------------------------- fitting


def fit_regime_model(
    train: pd.DataFrame,
    *,
    symbol: str,
    fit_date: date,
    periods_per_year: int = 252,
    config: RegimeConfig | None = None,
    previous: RegimeFit | None = None,
) -> RegimeFit:
    """Fit every candidate number of states on complete training rows, choose by BIC, order and name the states.

    `train` is date-indexed with the config's feature columns and holds only rows dated before `fit_date`
    (checked). Each candidate keeps the best log-likelihood over `n_init` seeded starts plus, when `previous` has
    the same number of states, a warm start from its parameters mapped into this window's standardization.
    """
    config = config or RegimeConfig()
    names = config.feature_names
    data = train[names].dropna()
    if len(data) == 0 or data.index.max() >= pd.Timestamp(fit_date):
        raise ValueError("training rows must exist and be dated strictly before the fit date")
    raw = data.to_numpy(dtype=float)
    mean = raw.mean(axis=0)
    std = raw.std(axis=0, ddof=0)
    std = np.where(std > 0, std, 1.0)
    x = (raw - mean) / std
    candidates: list[CandidateFit] = []
    models: dict[int, GaussianHMM] = {}
    for n_states in config.candidate_states:
        best: tuple[float, str, GaussianHMM] | None = None
        for label, model in _initial_models(n_states, x, mean, std, config, previous):
            try:
                with np.errstate(divide="ignore", invalid="ignore"):  # a start that empties a state: skipped below
                    model.fit(x)
                    score = float(model.score(x))
            except (ValueError, np.linalg.LinAlgError):
                continue
            if not np.isfinite(score):
                continue
            if best is None or score > best[0]:
                best = (score, label, model)
        if best is None:
            continue
        score, label, model = best
        n_params = count_parameters(n_states, x.shape[1], config.covariance_type)
        candidates.append(
            CandidateFit(
                n_states=n_states,
                log_likelihood=score,
                n_params=n_params,
                bic=-2.0 * score + n_params * math.log(len(x)),
                best_init=label,
                converged=bool(model.monitor_.converged),
            )
        )
        models[n_states] = model
    if not candidates:
        raise RuntimeError(f"no regime model could be fitted for {symbol} at {fit_date}")
    chosen = min(candidates, key=lambda c: (c.bic, c.n_states))
    model = models[chosen.n_states]
    ret_idx = [spec.column for spec in config.observations].index(config.return_column)
    covars = np.asarray(model.covars_, dtype=float)  # always (K, F, F) whatever the type
    mu_daily = model.means_[:, ret_idx] * std[ret_idx] + mean[ret_idx]
    vol_daily = np.sqrt(covars[:, ret_idx, ret_idx]) * std[ret_idx]
    order = sorted(range(chosen.n_states), key=lambda k: (-mu_daily[k], vol_daily[k], k))
    start = np.asarray(model.startprob_)[order]
    trans = np.asarray(model.transmat_)[np.ix_(order, order)]
    mu_daily, vol_daily = mu_daily[order], vol_daily[order]
    mean_ann = mu_daily * periods_per_year
    vol_ann = vol_daily * math.sqrt(periods_per_year)
    prior = previous.state_names if previous is not None and previous.n_states == chosen.n_states else None
    regime_names = name_states(mean_ann.tolist(), vol_ann.tolist(), config, previous=prior)
    stationary = _stationary(trans)
    states = [
        StateSummary(
            state=i,
            name=regime_names[i],
            mean_return_daily=float(mu_daily[i]),
            vol_daily=float(vol_daily[i]),
            mean_return_ann=float(mean_ann[i]),
            vol_ann=float(vol_ann[i]),
            sharpe_ann=float(mean_ann[i] / vol_ann[i]) if vol_ann[i] > 0 else 0.0,
            expected_duration=float(1.0 / max(1.0 - trans[i, i], 1e-12)),
            stationary_share=float(stationary[i]),
        )
        for i in range(chosen.n_states)
    ]
    fit = RegimeFit(
        symbol=symbol,
        fit_date=fit_date,
        train_start=data.index.min().date(),
        train_end=data.index.max().date(),
        n_obs=len(data),
        n_states=chosen.n_states,
        covariance_type=config.covariance_type,
        periods_per_year=periods_per_year,
        feature_names=names,
        feature_mean=mean.tolist(),
        feature_std=std.tolist(),
        start_prob=start.tolist(),
        transition_matrix=trans.tolist(),
        means=np.asarray(model.means_)[order].tolist(),
        covariances=covars[order].tolist(),
        log_likelihood=chosen.log_likelihood,
        bic={c.n_states: c.bic for c in candidates},
        candidates=candidates,
        states=states,
    )
    return fit.model_copy(update={"content_hash": fit_hash(fit)})


def fit_hash(fit: RegimeFit) -> str:
    """sha256 of the fit's canonical JSON (without the hash): equal inputs and seed give equal hashes."""
    payload = fit.model_dump(mode="json", exclude={"content_hash"})
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _initial_models(
    n_states: int,
    x: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    config: RegimeConfig,
    previous: RegimeFit | None,
) -> list[tuple[str, GaussianHMM]]:
    """Seeded random starts and an optional warm start from the previous refit.

    A random start: our k-means++ centers for the means, hmmlearn's seeded Dirichlet draws for the start and
    transition probabilities, the data covariance for every state. The warm start maps the previous fit's means
    and covariances into this window's standardization.
    """
    from hmmlearn.hmm import GaussianHMM

    common = {
        "n_components": n_states,
        "covariance_type": config.covariance_type,
        "n_iter": config.n_iter,
        "tol": config.tol,
        "implementation": "scaling",
    }
    models: list[tuple[str, GaussianHMM]] = []
    for i in range(config.n_init):
        seed = config.seed + 1000 * n_states + i
        # our own single-threaded k-means: hmmlearn's sklearn KMeans (ten runs, OpenMP) was most of the fit time
        model = GaussianHMM(random_state=seed, init_params="stc", **common)
        model.means_ = _kmeans_centers(x, n_states, np.random.default_rng(seed))
        models.append((f"seed={seed}", model))
    if (
        config.warm_start
        and previous is not None
        and previous.n_states == n_states
        and previous.feature_names == config.feature_names
        and previous.covariance_type == config.covariance_type
    ):
        warm = GaussianHMM(random_state=config.seed, init_params="", **common)
        prev_mean, prev_std = np.asarray(previous.feature_mean), np.asarray(previous.feature_std)
        means = (np.asarray(previous.means) * prev_std + prev_mean - mean) / std
        scale = prev_std / std
        covars = np.asarray(previous.covariances) * np.outer(scale, scale)[None, :, :]
        warm.n_features = x.shape[1]
        warm.startprob_ = np.full(n_states, 1.0 / n_states)
        # keep every transition possible: EM never revives a probability that is exactly zero
        warm.transmat_ = 0.98 * np.asarray(previous.transition_matrix) + 0.02 / n_states
        warm.means_ = means
        warm.covars_ = np.diagonal(covars, axis1=1, axis2=2).copy() if config.covariance_type == "diag" else covars
        models.insert(0, ("warm", warm))
    return models


def _kmeans_centers(x: np.ndarray, k: int, rng: np.random.Generator, max_iter: int = 30) -> np.ndarray:
    """k-means++ seeding and Lloyd iterations: deterministic for a given generator, single-threaded."""
    centers = [x[int(rng.integers(len(x)))]]
    for _ in range(1, k):
        d2 = np.min([np.sum((x - c) ** 2, axis=1) for c in centers], axis=0)
        total = d2.sum()
        pick = int(rng.choice(len(x), p=d2 / total)) if total > 0 else int(rng.integers(len(x)))
        centers.append(x[pick])
    c = np.array(centers, dtype=float)
    assign = np.full(len(x), -1)
    for _ in range(max_iter):
        new = np.argmin(((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2), axis=1)
        if np.array_equal(new, assign):
            break
        assign = new
        for j in range(k):
            members = x[assign == j]
            if len(members):
                c[j] = members.mean(axis=0)
    return c


def _stationary(trans: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eig(trans.T)
    vec = np.real(vectors[:, int(np.argmin(np.abs(values - 1.0)))])
    total = vec.sum()
    return vec / total if total != 0 else np.full(len(vec), 1.0 / len(vec))


# ------------------------------------------------------------------------------------------------------ pipelines


class FitCache(Protocol):
    """Somewhere to keep fits by a key that fixes their inputs (a fit is a pure function of them)."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...


def _fit_key(
    train: pd.DataFrame, *, symbol: str, fit_date: date, ppy: int, config: RegimeConfig, previous: RegimeFit | None
) -> str:
    digest = hashlib.sha256()
    digest.update(f"{symbol}|{fit_date}|{ppy}|{config.model_dump_json()}|".encode())
    digest.update((fit_hash(previous) if previous is not None else "-").encode())
    digest.update(pd.util.hash_pandas_object(train, index=True).to_numpy().tobytes())
    return digest.hexdigest()


def symbol_regimes(
    observations: pd.DataFrame,
    *,
    symbol: str,
    periods_per_year: int = 252,
    config: RegimeConfig | None = None,
    cache: FitCache | None = None,
) -> RegimeResult:
    """Walk-forward regimes of one symbol from its date-indexed observations (`observation_frame`).

    Refits at every calendar refit date with enough complete history (a failed refit keeps the previous model);
    every date from the first fit on gets the filtered posterior of the model in use at that date, run from the
    first row of that model's training window (the symbol's first complete row). Dates before the first fit get
    no row.
    """
    config = config or RegimeConfig()
    observations = observations.sort_index()
    dates = pd.DatetimeIndex(observations.index)
    complete = observations[config.feature_names].notna().all(axis=1).to_numpy()
    fits: list[RegimeFit] = []
    previous: RegimeFit | None = None
    for refit in refit_dates(dates, config):
        mask = (dates < pd.Timestamp(refit)) & complete
        if mask.sum() < config.min_train_obs:
            continue
        train = observations.loc[mask, config.feature_names]
        key = _fit_key(train, symbol=symbol, fit_date=refit, ppy=periods_per_year, config=config, previous=previous)
        cached = cache.get(key) if cache is not None else None
        if cached is not None:
            previous = RegimeFit.model_validate_json(cached)
        else:
            try:
                previous = fit_regime_model(
                    train,
                    symbol=symbol,
                    fit_date=refit,
                    periods_per_year=periods_per_year,
                    config=config,
                    previous=previous,
                )
            except RuntimeError:
                continue
            if cache is not None:
                cache.put(key, previous.model_dump_json())
        fits.append(previous)
    rows: list[pd.DataFrame] = []
    for i, fit in enumerate(fits):
        begin = pd.Timestamp(fit.fit_date)
        end = pd.Timestamp(fits[i + 1].fit_date) if i + 1 < len(fits) else None
        upto = int(np.searchsorted(dates.values, end.to_datetime64(), side="left")) if end is not None else len(dates)
        first = int(np.searchsorted(dates.values, begin.to_datetime64(), side="left"))
        if first >= upto:
            continue
        # the filter starts where the model's training sequence started: its start probabilities belong there
        origin = int(np.searchsorted(dates.values, pd.Timestamp(fit.train_start).to_datetime64(), side="left"))
        posteriors = filtered_posteriors(observations.iloc[origin:upto], fit)[first - origin :]
        rows.append(_segment_frame(symbol, dates[first:upto], posteriors, fit))
    frame = pd.concat(rows, ignore_index=True) if rows else _empty_frame()
    if len(frame):
        frame["regime"] = [r.value for r in date_regimes(frame["base_regime"], frame["confidence"], config)]
    return RegimeResult(frame=frame[list(_COLUMNS)], fits=fits)


def regimes(
    features: pd.DataFrame, config: RegimeConfig | None = None, *, cache: FitCache | None = None
) -> RegimeResult:
    """Walk-forward regimes for every symbol of a features frame (the marts' contract), symbols in sorted order."""
    config = config or RegimeConfig()
    frames: list[pd.DataFrame] = []
    fits: list[RegimeFit] = []
    for symbol in sorted(features["symbol"].dropna().unique()):
        rows = features[features["symbol"] == symbol]
        calendar = rows["calendar"].dropna().iloc[0] if "calendar" in rows and rows["calendar"].notna().any() else None
        ppy = config.periods_per_year.get(str(calendar), 252)
        result = symbol_regimes(
            observation_frame(rows, config), symbol=str(symbol), periods_per_year=ppy, config=config, cache=cache
        )
        frames.append(result.frame)
        fits.extend(result.fits)
    frame = pd.concat(frames, ignore_index=True) if frames else _empty_frame()
    return RegimeResult(frame=frame, fits=fits)


def regime_rows(frame: pd.DataFrame) -> list[RegimeRow]:
    """Validate a regimes frame against the row contract (for checks and tests; not needed on the hot path)."""
    out = []
    for record in frame.to_dict("records"):
        probabilities = {name.value: float(record[col]) for name, col in PROB_COLUMNS.items()}
        out.append(
            RegimeRow(
                symbol=record["symbol"],
                trade_date=record["trade_date"],
                regime=record["regime"],
                base_regime=record["base_regime"],
                state=record["state"],
                confidence=record["confidence"],
                n_states=record["n_states"],
                probabilities={k: v for k, v in probabilities.items() if k in set(record["state_names"])},
                state_probabilities=record["state_probabilities"],
                state_names=record["state_names"],
                fit_date=record["fit_date"],
                transition_matrix=record["transition_matrix"],
            )
        )
    return out


_COLUMNS = (
    "symbol",
    "trade_date",
    "regime",
    "base_regime",
    "state",
    "confidence",
    "n_states",
    *PROB_COLUMNS.values(),
    "state_probabilities",
    "state_names",
    "fit_date",
    "transition_matrix",
)


def _segment_frame(symbol: str, dates: pd.DatetimeIndex, posteriors: np.ndarray, fit: RegimeFit) -> pd.DataFrame:
    names = fit.state_names
    state = posteriors.argmax(axis=1)
    data: dict[str, object] = {
        "symbol": symbol,
        "trade_date": [ts.date() for ts in dates],
        "base_regime": [names[s] for s in state],
        "state": state.astype("int64"),
        "confidence": posteriors[np.arange(len(state)), state],
        "n_states": np.full(len(state), fit.n_states, dtype="int64"),
    }
    for regime, column in PROB_COLUMNS.items():
        cols = [i for i, n in enumerate(names) if n == regime.value]
        data[column] = posteriors[:, cols].sum(axis=1) if cols else np.zeros(len(state))
    data["state_probabilities"] = [row.tolist() for row in posteriors]
    data["state_names"] = [list(names) for _ in range(len(state))]
    data["fit_date"] = [fit.fit_date] * len(state)
    data["transition_matrix"] = [fit.transition_matrix for _ in range(len(state))]
    frame = pd.DataFrame(data)
    frame["regime"] = frame["base_regime"]
    return frame


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in _COLUMNS})
