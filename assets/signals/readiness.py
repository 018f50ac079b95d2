"""Is the publisher's day D in what the signals read? A decision day is built from D's data, not merely after D.

The daemon starts day D's signals once the models were rebuilt after Cboe's day D landed, but a models rebuild can
come from a marts run that started before D's rows reached the marts. Built then, day D would hold no signals and
everything after it (ledger, personas, report, feeds) would be built from nothing. So the signals stage checks that
D is in the features and the predictions first; when it is not, it builds nothing, D stays missing, and the next
models rebuild (the one carrying D's rows) starts it again.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from resources.releases import releases_on

DAY_PUBLISHER = "cboe"
"""The release stream whose day is the decision day (the automation's day marker is Cboe's silver closes)."""


def decision_day_gap(features: pd.DataFrame, predictions: pd.DataFrame, day: date) -> str | None:
    """Why day `day` cannot be decided from these inputs yet, or None when it can.

    Only a day the publisher releases on is waited for: on a market holiday there is nothing to wait for, and a
    window ending on one is built as before."""
    if not releases_on(DAY_PUBLISHER, day):
        return None
    at = pd.Timestamp(day)
    for name, frame in (("fct_features_daily", features), ("oos_predictions", predictions)):
        dates = pd.to_datetime(frame["trade_date"]) if len(frame) else pd.Series(dtype="datetime64[ns]")
        if not (dates == at).any():
            latest = dates.max().date().isoformat() if len(dates) else "none"
            return f"{name} has no row for {day} yet (its latest day is {latest}); waiting for the next models rebuild"
    return None
