"""Persona inputs read from the lake: signals, features, prices, energy curves and the out-of-sample track record."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from assets.models.data import load_mart
from assets.personas.inputs import PersonaInputs
from assets.personas.score_parts import score_parts
from assets.signals.ledger import PORTFOLIO, POSITIONS, read_ledger
from resources.lake.delta import open_table, read_table
from resources.lake.provenance import is_simulated
from resources.lake.storage import LakeStorage
from resources.universe import Universe

HISTORY_DAYS = 400  # price and feature history personas use for correlations, momentum and charts


def _recent(frame: pd.DataFrame, column: str, start: date, end: date) -> pd.DataFrame:
    days = pd.to_datetime(frame[column])
    return frame[(days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))].reset_index(drop=True)


def load_ledger(storage: LakeStorage, last: date) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The whole paper-trading ledger up to `last` (small: a row per instrument and day); (None, None) when it
    has not been built yet (a fresh lake), so the personas go on without a paper record."""
    if open_table(storage, POSITIONS) is None or open_table(storage, PORTFOLIO) is None:
        return None, None
    return read_ledger(storage, until=last)


def load_score_parts(storage: LakeStorage, signals: pd.DataFrame, since: date) -> pd.DataFrame | None:
    """The signals' combined scores split into model and rules (score_parts.py); None before the signals stage has
    stored its ensemble weights."""
    weights_uri = storage.uri("gold", "models", "ensemble_weights")
    predictions_uri = storage.uri("gold", "models", "oos_predictions")
    if open_table(storage, weights_uri) is None or open_table(storage, predictions_uri) is None:
        return None
    weights = read_table(storage, weights_uri, columns=["horizon", "cutoff", "component", "weight"]).to_pandas()
    cutoffs = read_table(
        storage,
        predictions_uri,
        columns=["symbol", "trade_date", "horizon", "cutoff"],
        filters=[("trade_date", ">=", since)],
    ).to_pandas()
    return score_parts(signals, cutoffs, weights)


def load_persona_inputs(storage: LakeStorage, first: date, last: date, universe: Universe) -> PersonaInputs:
    """Everything the six personas need for the days first..last, as known by `last`."""
    since = first - timedelta(days=HISTORY_DAYS)
    signals = read_table(storage, storage.uri("gold", "signals", "daily")).to_pandas()
    signals = _recent(signals, "signal_date", since, last)
    features = _recent(load_mart(storage, "fct_features_daily"), "trade_date", since, last)
    prices = _recent(load_mart(storage, "fct_prices_daily"), "trade_date", since, last)
    energy = _recent(load_mart(storage, "fct_energy_daily"), "trade_date", since, last)
    evaluation_uri = storage.uri("gold", "models", "evaluation")
    track = read_table(storage, evaluation_uri).to_pandas() if open_table(storage, evaluation_uri) else pd.DataFrame()
    if len(track):
        track = track[track["symbol"] != "ALL"][
            ["symbol", "horizon", "n", "hit_rate", "balanced_accuracy", "brier", "ic", "start", "end"]
        ]
    ledger_positions, ledger_portfolio = load_ledger(storage, last)
    return PersonaInputs(
        signals=signals,
        features=features,
        prices=prices,
        energy=energy,
        track_record=track,
        ledger_positions=ledger_positions,
        ledger_portfolio=ledger_portfolio,
        score_parts=load_score_parts(storage, signals, since),
        universe=universe,
        simulated=is_simulated(storage),
    )
