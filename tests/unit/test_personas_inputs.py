"""Persona input contracts, and the synthetic fixture every persona test (and the benchmark) builds on.

`make_inputs` builds frames that follow the contracts of `assets/personas/inputs.py` exactly: signal rows are
`SignalRow` models dumped to a frame, features and prices come from one seeded correlated random walk over the real
universe, the energy curves lag like EIA's weekly refresh, and the track record has the evaluation's columns.
On DAY a few situations are planted so each persona rule has a case to fire on (see PLANTED).
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd
import pytest

from assets.personas.inputs import CONTRACTS, PersonaInputError, PersonaInputs
from assets.signals.contract import HORIZONS, SignalRow
from resources.settings import PROJECT_ROOT
from resources.universe import Universe, load_universe

UNIVERSE_FILE = PROJECT_ROOT / "resources" / "config" / "universe.yaml"
DAY = date(2024, 6, 28)  # a Friday and the last weekday of June: weekly report and monthly digest day
MID_MONTH = date(2024, 6, 14)
START = date(2022, 6, 1)
SIGNAL_DAYS = 45

LEVELS = {
    "SPX": (4700.0, 0.16),
    "NDX": (16000.0, 0.20),
    "UST10Y": (3.5, 0.10),
    "EURUSD": (1.10, 0.07),
    "USDJPY": (140.0, 0.09),
    "USD": (120.0, 0.06),
    "WTI": (75.0, 0.35),
    "BRENT": (80.0, 0.32),
    "NATGAS": (3.0, 0.60),
    "VIX": (18.0, 0.80),
    "BTC": (40000.0, 0.60),
    "ETH": (2500.0, 0.75),
}
GROUPS = {
    "SPX": "eq",
    "NDX": "eq",
    "WTI": "oil",
    "BRENT": "oil",
    "BTC": "crypto",
    "ETH": "crypto",
    "EURUSD": "usd",
    "USD": "usd",
    "USDJPY": "usd",
}
GROUP_SIGN = {"USD": -1.0, "USDJPY": -1.0}
DRIFT = {"SPX": 0.18, "NDX": 0.22, "BTC": 0.5, "ETH": 0.3, "WTI": -0.1, "BRENT": -0.08, "NATGAS": 0.0}

# What is planted on DAY, per (symbol, horizon) or symbol for every horizon.
PLANTED = {
    "SPX": dict(direction="UP", probs=(0.60, 0.22, 0.18), confidence=0.25, ensemble=0.5, confluence=0.6, size=0.08),
    "NDX": dict(direction="FLAT", probs=(0.25, 0.50, 0.25), confidence=0.20, ensemble=0.0, confluence=0.0, size=0.0),
    "WTI": dict(
        direction="DOWN",
        probs=(0.15, 0.25, 0.60),
        confidence=0.35,
        ensemble=-0.6,
        confluence=-0.7,
        size=-0.1,
        sentiment="DISTRIBUTION",
    ),
    "BRENT": dict(
        direction="DOWN", probs=(0.20, 0.25, 0.55), confidence=0.25, ensemble=-0.4, confluence=-0.5, size=-0.06
    ),
    "NATGAS": dict(
        direction="UP",
        probs=(0.50, 0.30, 0.20),
        confidence=0.22,
        ensemble=0.35,
        confluence=0.4,
        size=0.05,
        sentiment="ACCUMULATION",
    ),
    "EURUSD": dict(direction="UP", probs=(0.36, 0.33, 0.31), confidence=0.02, ensemble=0.05, confluence=0.1, size=0.01),
    "BTC": dict(
        direction="UP",
        probs=(0.55, 0.20, 0.25),
        confidence=0.2,
        ensemble=0.3,
        confluence=0.3,
        size=0.02,
        regime="CRISIS",
        drawdown="REDUCE_50",
        var_99=0.05,
    ),
    "ETH": dict(
        direction="DOWN", probs=(0.20, 0.22, 0.58), confidence=0.22, ensemble=-0.45, confluence=-0.5, size=-0.07
    ),
    "USDJPY": dict(direction="UP", probs=(0.56, 0.24, 0.20), confidence=0.2, ensemble=0.4, confluence=0.5, size=0.05),
    "UST10Y": dict(direction="UP", probs=(0.42, 0.30, 0.28), confidence=0.11, ensemble=0.15, confluence=0.2, size=0.02),
    "USD": dict(
        direction="DOWN",
        probs=(0.25, 0.25, 0.50),
        confidence=0.15,
        ensemble=-0.3,
        confluence=-0.4,
        size=-0.04,
        sentiment="CONFIRMATION",
    ),
    "VIX": dict(
        direction="DOWN", probs=(0.25, 0.30, 0.45), confidence=0.12, ensemble=-0.2, confluence=-0.2, size=-0.02
    ),
}
SHORT_TRACK = "USDJPY"  # its track record is too short to trust


def _universe() -> Universe:
    """The project's universe file itself (not the settings' choice: fixtures must not depend on the shell)."""
    return load_universe(UNIVERSE_FILE)


def _calendar(start: date, end: date, crypto: bool) -> pd.DatetimeIndex:
    return pd.date_range(start, end, freq="D" if crypto else "B")


def make_prices(seed: int = 7, end: date = DAY, start: date = START) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = _calendar(start, end, crypto=True)
    n = len(days)
    market = rng.normal(0, 1, n)
    group = {g: rng.normal(0, 1, n) for g in sorted(set(GROUPS.values()))}
    # planted: oil decorrelates over the last 20 days (a correlation breakdown)
    oil_break = np.zeros(n, dtype=bool)
    oil_break[-28:] = True
    frames = []
    universe = _universe()
    for inst in universe.instruments:
        level, vol = LEVELS[inst.symbol]
        daily = vol / math.sqrt(252)
        g = GROUPS.get(inst.symbol)
        shock = 0.3 * market + rng.normal(0, 1, n) * 0.45
        if g is not None:
            own = group[g] * GROUP_SIGN.get(inst.symbol, 1.0)
            if g == "oil" and inst.symbol == "BRENT":
                own = np.where(oil_break, rng.normal(0, 1, n), own)
            shock = shock + 0.85 * own
        shock = shock / np.sqrt(0.3**2 + 0.45**2 + (0.85**2 if g else 0))
        rets = DRIFT.get(inst.symbol, 0.0) / 252 + daily * shock
        close = level * np.exp(np.cumsum(rets))
        frame = pd.DataFrame({"symbol": inst.symbol, "trade_date": days, "close": close})
        if inst.calendar != "CRYPTO":
            frame = frame[frame["trade_date"].dt.weekday < 5]
        frame["ret_1d"] = np.log(frame["close"]).diff()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def make_features(prices: pd.DataFrame, seed: int = 7, day: date = DAY) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 1)
    universe = _universe()
    vix = prices[prices["symbol"] == "VIX"].set_index("trade_date")["close"]
    vix_pct = vix.rolling(252, min_periods=60).rank(pct=True)
    out = []
    for symbol, g in prices.groupby("symbol", sort=True):
        g = g.sort_values("trade_date").copy()
        logc = np.log(g["close"])
        g["asset_class"] = universe.instrument(symbol).asset_class
        g["ret_20d"] = logc.diff(20)
        g["ret_250d"] = logc.diff(250)
        g["rvol_20d"] = g["ret_1d"].rolling(20).std() * math.sqrt(252)
        g["dist_ma200"] = g["close"] / g["close"].rolling(200).mean() - 1
        g["drawdown"] = g["close"] / g["close"].cummax() - 1
        z = np.clip(np.cumsum(rng.normal(0, 0.15, len(g))) * 0.3, -1.4, 1.4)
        g["cot_spec_z52"] = z
        g["cot_spec_net_share"] = 0.1 + 0.05 * z
        g["cot_index"] = np.clip(50 + 20 * z, 0, 100)
        g["vix"] = g["trade_date"].map(vix).ffill()
        g["vix_pct_1y"] = g["trade_date"].map(vix_pct).ffill()
        out.append(g.drop(columns=["ret_1d"]))
    features = pd.concat(out, ignore_index=True)
    plant = {"WTI": 2.4, "BTC": -2.1}
    for symbol, z in plant.items():
        mask = (features["symbol"] == symbol) & (features["trade_date"] >= pd.Timestamp(day) - pd.Timedelta(days=3))
        features.loc[mask, "cot_spec_z52"] = z
        features.loc[mask, "cot_index"] = 98.0 if z > 0 else 3.0
    # planted: a calm market on DAY (the VIX percentile drives several rules)
    features.loc[features["trade_date"] == pd.Timestamp(day), "vix_pct_1y"] = 0.35
    features["trade_date"] = features["trade_date"].dt.date
    return features


def _signal(symbol: str, d: date, h: int, spec: dict, vol: float) -> SignalRow:
    p_up, p_flat, p_down = spec["probs"]
    probability = {"UP": p_up, "FLAT": p_flat, "DOWN": p_down}[spec["direction"]]
    scale = vol * math.sqrt(h / 252)
    expected = (p_up - p_down) * scale * 0.5
    size = spec["size"]
    return SignalRow(
        symbol=symbol,
        signal_date=d,
        decision_at=datetime.combine(d, time(22, 0), tzinfo=UTC),
        horizon=h,
        direction=spec["direction"],
        probability=probability,
        prob_up=p_up,
        prob_flat=p_flat,
        prob_down=p_down,
        confidence=spec["confidence"],
        expected_move=expected,
        move_low=expected - 1.2816 * scale,
        move_high=expected + 1.2816 * scale,
        regime=spec.get("regime", "BULL"),
        regime_probability=spec.get("regime_probability", 0.72),
        rule_cot_extreme=spec.get("rule_cot"),
        rule_sentiment=0.5
        if spec.get("sentiment") in ("ACCUMULATION", "CONFIRMATION")
        else -0.5
        if spec.get("sentiment") == "DISTRIBUTION"
        else 0.0,
        sentiment_label=spec.get("sentiment", "NEUTRAL"),
        rule_vix_term_structure=0.0,
        rule_mvrv_zone=None,
        rule_eia_surprise=None,
        rule_tsmom=float(np.sign(spec["ensemble"])),
        rule_factor_momentum=spec.get("factor", 0.5 * float(np.sign(spec["ensemble"]))),
        ensemble_score=spec["ensemble"],
        confluence=spec["confluence"],
        size=size,
        kelly_fraction=abs(size),
        drawdown_state=spec.get("drawdown", "FULL_SIZE"),
        var_95=spec.get("var_95", abs(size) * vol / math.sqrt(252) * 1.645),
        var_99=spec.get("var_99", abs(size) * vol / math.sqrt(252) * 2.326),
        model_version=f"lgbm-h{h}-{hashlib.sha256(f'model{h}'.encode()).hexdigest()[:12]}",
        feature_snapshot_hash=hashlib.sha256(f"{symbol}|{d.isoformat()}".encode()).hexdigest(),
        run_id=f"signals-{d.isoformat()}",
    )


def _random_spec(rng: np.random.Generator) -> dict:
    probs = rng.dirichlet([3.0, 2.5, 3.0])
    p_up, p_flat, p_down = (round(float(p), 4) for p in probs)
    p_flat = round(1 - p_up - p_down, 4)
    direction = ("UP", "FLAT", "DOWN")[int(np.argmax([p_up, p_flat, p_down]))]
    ensemble = float(np.clip(p_up - p_down + rng.normal(0, 0.1), -1, 1))
    size = float(np.clip(ensemble * 0.2, -0.25, 0.25)) if direction != "FLAT" else 0.0
    return dict(
        direction=direction,
        probs=(p_up, p_flat, p_down),
        confidence=round(float(abs(p_up - p_down)), 4),
        ensemble=round(ensemble, 4),
        confluence=round(float(np.clip(rng.normal(0, 0.4), -1, 1)), 4),
        size=round(size, 4),
        sentiment=str(rng.choice(["NEUTRAL", "NEUTRAL", "DISTRIBUTION", "ACCUMULATION", "CONFIRMATION"])),
        regime=str(rng.choice(["BULL", "BULL", "WEAK_BULL", "SIDEWAYS", "WEAK_BEAR"])),
    )


def make_signals(seed: int = 7, day: date = DAY, days: int = SIGNAL_DAYS, planted: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 2)
    rows = []
    dates = [d.date() for d in pd.bdate_range(day - timedelta(days=days), day)]
    for d in dates:
        for symbol in sorted(LEVELS):
            base = _random_spec(rng)
            for h in HORIZONS:
                spec = PLANTED[symbol] if planted and d == day else base
                rows.append(_signal(symbol, d, h, spec, LEVELS[symbol][1]).model_dump())
    return pd.DataFrame(rows)


def make_energy(prices: pd.DataFrame, seed: int = 7, day: date = DAY, lag_days: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed + 3)
    wti = prices[prices["symbol"] == "WTI"].set_index("trade_date")["close"]
    ng = prices[prices["symbol"] == "NATGAS"].set_index("trade_date")["close"]
    dates = wti.index[wti.index <= pd.Timestamp(day) - pd.Timedelta(days=lag_days)]
    n = len(dates)
    wti_basis = 0.3 + np.cumsum(rng.normal(0, 0.05, n)) * 0.2
    ng_basis = -0.05 + np.cumsum(rng.normal(0, 0.01, n)) * 0.2
    c1 = wti.loc[dates].to_numpy() - wti_basis
    c2 = c1 - 0.45
    ng_c1 = ng.loc[dates].to_numpy() - ng_basis
    ng_c2 = ng_c1 + 0.08
    return pd.DataFrame(
        {
            "trade_date": [d.date() for d in dates],
            "wti_c1": c1,
            "wti_c2": c2,
            "wti_c3": c2 - 0.4,
            "wti_c4": c2 - 0.75,
            "wti_c1_c2": c1 - c2,
            "wti_roll_yield": 12 * np.log(c1 / c2),
            "wti_basis": wti_basis,
            "ng_roll_yield": 12 * np.log(ng_c1 / ng_c2),
            "ng_basis": ng_basis,
        }
    )


def make_track_record() -> pd.DataFrame:
    rows = []
    for symbol in sorted(LEVELS):
        for h in HORIZONS:
            rows.append(
                {
                    "symbol": symbol,
                    "horizon": h,
                    "n": 40 if symbol == SHORT_TRACK else 900,
                    "hit_rate": 0.531,
                    "balanced_accuracy": 0.524,
                    "brier": 0.618,
                    "ic": 0.034,
                    "start": "2019-01-02",
                    "end": "2024-05-31",
                }
            )
    return pd.DataFrame(rows)


def make_inputs(
    seed: int = 7, day: date = DAY, planted: bool = True, start: date = START, signal_days: int = SIGNAL_DAYS
) -> PersonaInputs:
    """The synthetic inputs; `start` and `signal_days` set how much price and signal history they hold."""
    prices = make_prices(seed, day, start)
    return PersonaInputs(
        signals=make_signals(seed, day, days=signal_days, planted=planted),
        features=make_features(prices, seed, day),
        prices=prices.assign(trade_date=prices["trade_date"].dt.date),
        energy=make_energy(prices, seed, day),
        track_record=make_track_record(),
        universe=_universe(),
    )


@pytest.fixture(scope="module")
def inputs() -> PersonaInputs:
    return make_inputs()


# ------------------------------------------------------------------------------------------------------ tests
def test_fixture_follows_every_contract(inputs):
    for name, contract in CONTRACTS.items():
        frame = getattr(inputs, name)
        assert set(contract.required) <= set(frame.columns), name
    # signal rows are exactly the SignalRow contract
    row = inputs.signals.iloc[0].to_dict()
    row["signal_date"] = row["signal_date"].date()
    SignalRow.model_validate({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()})
    assert set(inputs.signals.columns) == set(SignalRow.model_fields)


def test_missing_required_column_is_refused_with_its_name(inputs):
    with pytest.raises(PersonaInputError, match=r"features: missing required columns \['ret_250d'\]"):
        PersonaInputs(
            signals=inputs.signals,
            features=inputs.features.drop(columns=["ret_250d"]),
            prices=inputs.prices,
        )


def test_mart_spellings_are_accepted_as_aliases(inputs):
    energy = inputs.energy.rename(
        columns={"wti_roll_yield": "wti_roll_yield_annualized", "wti_c1_c2": "wti_c1_c2_spread"}
    )
    prices = inputs.prices.rename(columns={"ret_1d": "return_1d"})
    again = PersonaInputs(signals=inputs.signals, features=inputs.features, prices=prices, energy=energy)
    assert "wti_roll_yield" in again.energy.columns and "ret_1d" in again.prices.columns


def test_bad_probabilities_and_duplicate_keys_are_refused(inputs):
    bad = inputs.signals.copy()
    bad.loc[0, "prob_up"] = 1.5
    with pytest.raises(PersonaInputError, match="prob_up"):
        PersonaInputs(signals=bad, features=inputs.features, prices=inputs.prices)
    dupes = pd.concat([inputs.signals, inputs.signals.head(1)])
    with pytest.raises(PersonaInputError, match="duplicate"):
        PersonaInputs(signals=dupes, features=inputs.features, prices=inputs.prices)


def test_selections_are_point_in_time(inputs):
    feats = inputs.features_asof(DAY)
    assert (feats["trade_date"] <= pd.Timestamp(DAY)).all()
    assert set(feats["symbol"]) == set(LEVELS)
    sunday = date(2024, 6, 23)
    weekend = inputs.features_asof(sunday)
    spx = weekend[weekend["symbol"] == "SPX"]["trade_date"].iloc[0]
    btc = weekend[weekend["symbol"] == "BTC"]["trade_date"].iloc[0]
    assert spx == pd.Timestamp(2024, 6, 21) and btc == pd.Timestamp(sunday)  # each calendar's own latest row
    assert inputs.signals_on(DAY, 5)["horizon"].eq(5).all()
    assert inputs.energy_until(DAY)["trade_date"].max() <= pd.Timestamp(DAY) - pd.Timedelta(days=5)


def test_selections_cut_from_all_days_at_once_equal_their_per_day_definition(inputs):
    """`signals_on` and `prices_wide` are computed once for every day and cut per day: each cut must be the frame
    the per-day definition gives (a selection and a sort; a window and a pivot), on shuffled signals and on prices
    with a symbol that has no value in part of the window."""
    shuffled = inputs.signals.sample(frac=1.0, random_state=3)
    prices = inputs.prices.copy()
    gap = (prices["symbol"] == "NDX") & (prices["trade_date"] > pd.Timestamp(DAY) - pd.Timedelta(days=40))
    prices.loc[gap, "ret_1d"] = np.nan
    panel = PersonaInputs(signals=shuffled, features=inputs.features, prices=prices, universe=inputs.universe)
    days = sorted({d.date() for d in shuffled["signal_date"]})
    for day in [*days[-4:], date(2024, 6, 29)]:  # the last days, and a Saturday without signals
        for horizon in (None, 5):
            rows = shuffled[shuffled["signal_date"] == pd.Timestamp(day)]
            rows = rows if horizon is None else rows[rows["horizon"] == horizon]
            expected = rows.sort_values(["symbol", "horizon"], kind="stable").reset_index(drop=True)
            pd.testing.assert_frame_equal(panel.signals_on(day, horizon), expected)
        for lookback, value, symbols in ((30, "ret_1d", None), (400, "close", ["SPX", "WTI", "NOPE"])):
            window = panel.prices_until(day, lookback_days=lookback)
            if symbols is not None:
                window = window[window["symbol"].isin(symbols)]
            expected = window.pivot_table(index="trade_date", columns="symbol", values=value, aggfunc="last")
            pd.testing.assert_frame_equal(panel.prices_wide(day, lookback, value, symbols), expected)
    assert "NDX" not in panel.prices_wide(DAY, 30, "ret_1d").columns  # no value in the window: left out
    mine = panel.signals_on(DAY)
    mine.loc[0, "symbol"] = "CHANGED"  # callers get their own copy
    assert panel.signals_on(DAY).loc[0, "symbol"] != "CHANGED"


def test_features_asof_and_the_ledger_cut_from_one_sort_equal_their_per_day_definition(inputs):
    """`features_asof` and `ledger_until` sort their frame once and cut it per day: each cut must be the frame the
    per-day definition gives (a window, a stable sort, the last row per symbol; rows up to the day, sorted), on
    shuffled rows, a missing symbol (left out, as groupby leaves it out) and days outside the history."""
    features = inputs.features.sample(frac=1.0, random_state=5).reset_index(drop=True)
    features.loc[:20, "symbol"] = None
    days = sorted({d.date() for d in pd.to_datetime(inputs.prices["trade_date"])})
    rng = np.random.default_rng(3)
    positions = pd.DataFrame(
        {
            "symbol": rng.choice(["SPX", "WTI", "BTC"], size=300),
            "trade_date": pd.to_datetime(rng.choice(days[-120:], size=300)),
            "position": rng.normal(size=300),
            "pnl": rng.normal(size=300),
        }
    )
    portfolio = pd.DataFrame(
        {
            "trade_date": pd.to_datetime(rng.choice(days[-120:], size=80)),
            "pnl": rng.normal(size=80),
            "equity": rng.normal(size=80),
            "drawdown": -rng.random(80),
        }
    )
    panel = PersonaInputs(
        signals=inputs.signals,
        features=features,
        prices=inputs.prices,
        ledger_positions=positions,
        ledger_portfolio=portfolio,
        universe=inputs.universe,
    )
    frame = panel.features
    for day in [*days[-6:], date(2024, 6, 23), days[0], date(1999, 1, 4)]:
        for age in (0, 3, 7):
            ts = pd.Timestamp(day)
            window = frame[(frame["trade_date"] <= ts) & (frame["trade_date"] >= ts - pd.Timedelta(days=age))]
            expected = window.sort_values(["symbol", "trade_date"], kind="stable").groupby("symbol").tail(1)
            pd.testing.assert_frame_equal(panel.features_asof(day, age), expected.reset_index(drop=True))
        ts = pd.Timestamp(day)
        mine = panel.ledger_until(day)
        rows = panel.ledger_positions[panel.ledger_positions["trade_date"] <= ts]
        pd.testing.assert_frame_equal(
            mine[0], rows.sort_values(["symbol", "trade_date"], kind="stable").reset_index(drop=True)
        )
        book = panel.ledger_portfolio[panel.ledger_portfolio["trade_date"] <= ts]
        pd.testing.assert_frame_equal(mine[1], book.sort_values("trade_date", kind="stable").reset_index(drop=True))


def test_signal_records_are_the_days_rows_in_order(inputs):
    """`signal_records` (what the builders read per row) are `signals_on`'s rows, values and order."""
    days = sorted({d.date() for d in inputs.signals["signal_date"]})
    for day in [*days[-5:], date(2024, 6, 29)]:  # the last days, and a Saturday without signals
        rows = inputs.signals_on(day)
        records = inputs.signal_records(day)
        assert [(r["symbol"], r["horizon"]) for r in records] == list(zip(rows["symbol"], rows["horizon"], strict=True))
        for record, (_, row) in zip(records, rows.iterrows(), strict=True):
            assert record["signal_date"] == row["signal_date"] == pd.Timestamp(day)
            for column, value in record.items():
                assert value == row[column] or (pd.isna(value) and pd.isna(row[column])), column
        at_five = inputs.signals_on(day, 5)
        assert inputs.signals_by_symbol(day, 5) == {r["symbol"]: r for r in inputs.signal_records(day, 5)}
        assert sorted(inputs.signals_by_symbol(day, 5)) == sorted(at_five["symbol"])


def test_provenance_of_records_equals_provenance_of_their_frame(inputs):
    """Builders cite signal rows as records (`make_item(signal_row=...)`, `signals=[...]`): the provenance must be the
    one the same rows give as a frame, for one row, several, none, and rows without a model version."""
    from assets.personas.common import provenance

    day = sorted({d.date() for d in inputs.signals["signal_date"]})[-1]
    rows = inputs.signals_on(day)
    rows.loc[rows.index[:3], "model_version"] = None
    records = rows.to_dict("records")
    for positions in ([0], [0, 1, 2], [5, 1, 40], list(range(len(rows))), []):
        frame = rows.iloc[positions]
        assert provenance([records[i] for i in positions]) == provenance(frame)
    assert provenance([]) == provenance(None)
