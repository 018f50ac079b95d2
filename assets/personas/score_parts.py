"""Each signal's combined (ensemble) score split into the model's part and the rule signals' part.

Why: the wealth manager's allocation tilts each asset class by its instruments' combined scores, the model's
probability of a rise minus a fall blended with the rule signals in proportion to how well each predicted in the
past (`assets/signals/ensemble.py`). A chart of the model's probabilities alone could show every instrument
positive beside class scores below zero; a reader must see the quantity the decision uses and where it comes from.

The split is exact: the weights are those the signals stage learned at the cutoff of the model that predicted the
row (`gold/models/ensemble_weights`, the cutoff from `gold/models/oos_predictions`), the model's component is
`model_prob_up - model_prob_down` and a missing rule view counts as 0, as in `component_scores`. The combined
score is `clip(model_part + rules_part, -1, 1)`.
"""

from __future__ import annotations

import pandas as pd

from assets.signals.ensemble import RULE_COLUMNS

SCORE_PART_COLUMNS: tuple[str, ...] = ("symbol", "signal_date", "horizon", "model_part", "rules_part")


def score_parts(signals: pd.DataFrame, cutoffs: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """Per signal row with a known cutoff and weights: symbol, signal_date, horizon, model_part, rules_part.

    `cutoffs`: symbol, trade_date, horizon, cutoff (the predictions'); `weights`: horizon, cutoff, component, weight.
    Rows whose cutoff or weights are unknown are left out (the chart then shows the combined score alone).
    """
    if signals.empty or cutoffs.empty or weights.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in SCORE_PART_COLUMNS})
    keyed = cutoffs.rename(columns={"trade_date": "signal_date"})[["symbol", "signal_date", "horizon", "cutoff"]]
    keyed = keyed.assign(
        signal_date=pd.to_datetime(keyed["signal_date"]).dt.normalize(),
        cutoff=pd.to_datetime(keyed["cutoff"]).dt.normalize(),
        horizon=keyed["horizon"].astype("int64"),
    )
    wide = weights.assign(
        cutoff=pd.to_datetime(weights["cutoff"]).dt.normalize(), horizon=weights["horizon"].astype("int64")
    ).pivot_table(index=["horizon", "cutoff"], columns="component", values="weight", aggfunc="last")
    wide = wide.reindex(columns=["model", *RULE_COLUMNS]).fillna(0.0).add_prefix("w_").reset_index()
    rows = signals.assign(
        signal_date=pd.to_datetime(signals["signal_date"]).dt.normalize(), horizon=signals["horizon"].astype("int64")
    )
    rows = rows.merge(keyed, on=["symbol", "signal_date", "horizon"], how="inner", validate="one_to_one")
    rows = rows.merge(wide, on=["horizon", "cutoff"], how="inner", validate="many_to_one")
    model = rows["w_model"] * (rows["model_prob_up"].astype("float64") - rows["model_prob_down"].astype("float64"))
    rules = sum(rows[f"w_{c}"] * pd.to_numeric(rows[c], errors="coerce").fillna(0.0).clip(-1, 1) for c in RULE_COLUMNS)
    out = rows[["symbol", "signal_date", "horizon"]].assign(model_part=model, rules_part=rules)
    return out.dropna(subset=["model_part"]).reset_index(drop=True)


__all__ = ["SCORE_PART_COLUMNS", "score_parts"]
