"""Hedging desk's array paths: the basis volatility is pandas' own figure, and the energy window does not depend on
the order of the energy rows (it is cut from the frame sorted once, as `energy_until` sorts it)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.personas.hedging_desk import _population_sd, build_hedging_desk
from assets.personas.tables import output_json
from tests.unit.test_personas_inputs import DAY, make_inputs


def test_population_sd_is_the_series_std_to_the_last_bit():
    rng = np.random.default_rng(3)
    for size in (0, 1, 2, 7, 60, 61):
        values = rng.normal(0.2, 1.5, size)
        values[rng.random(size) < 0.2] = np.nan
        known = pd.Series(values).dropna()
        expected = float(known.std(ddof=0)) if len(known) > 1 else None
        assert _population_sd(values) == expected


def test_the_energy_rows_order_does_not_change_the_output():
    inputs = make_inputs()
    shuffled = inputs.model_copy(update={"energy": inputs.energy.sample(frac=1, random_state=5)})
    for day in (DAY, DAY - pd.Timedelta(days=3)):
        day = pd.Timestamp(day).date()
        assert output_json(build_hedging_desk(shuffled, day)) == output_json(build_hedging_desk(inputs, day))
