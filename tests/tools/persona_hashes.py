"""Hash every persona document, gold persona row and weekly PDF over 31 decision days, on the default universe
(12 instruments) and on a 4x universe (each instrument copied three times with its own random walk), with a
paper-trading ledger. A refactoring of the persona builders must leave every hash as it was.

    .venv/bin/python -m tests.tools.persona_hashes > before.json   # on the old code
    .venv/bin/python -m tests.tools.persona_hashes --compare before.json   # on the new code: exit 1 on a change
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from assets.personas.daily import build_all
from assets.personas.inputs import PersonaInputs
from assets.personas.report_pdf import render_report
from assets.personas.tables import output_json, output_rows
from assets.signals.ledger import build_ledger
from resources.lake.delta import content_hash
from resources.universe import Universe
from tests.unit.test_personas_inputs import DAY, make_inputs

DAYS = 31
START = date(2022, 1, 3)  # 2.5 years of prices before DAY, more than the personas' 400-day look-back


def _copies(frame: pd.DataFrame, copies: int, rng: np.random.Generator, numeric: list[str]) -> pd.DataFrame:
    """The frame with every symbol repeated `copies` times (SPX, SPX1, SPX2, ...), numbers scaled per copy."""
    out = [frame]
    for k in range(1, copies):
        copy = frame.copy()
        copy["symbol"] = copy["symbol"] + str(k)
        for column in numeric:
            if column in copy.columns:
                copy[column] = copy[column] * (1.0 + rng.normal(0, 0.05, len(copy)))
        out.append(copy)
    return pd.concat(out, ignore_index=True)


def scaled_inputs(copies: int) -> PersonaInputs:
    """Synthetic persona inputs for `copies` x the default universe, with the ledger built from them."""
    base = make_inputs(start=START, signal_days=DAYS + 20)
    rng = np.random.default_rng(copies)
    signals = base.signals
    features = base.features
    prices = base.prices
    track = base.track_record
    universe: Universe = base.universe
    if copies > 1:
        signals = _copies(signals, copies, rng, ["ensemble_score", "confluence", "size"])
        signals["ensemble_score"] = signals["ensemble_score"].clip(-1, 1)
        signals["confluence"] = signals["confluence"].clip(-1, 1)
        features = _copies(features, copies, rng, ["close", "ret_20d", "ret_250d", "rvol_20d", "cot_spec_z52"])
        prices = _copies(prices, copies, rng, ["close", "ret_1d"])
        track = _copies(track, copies, rng, [])
        extra = [
            inst.model_copy(update={"symbol": f"{inst.symbol}{k}", "name": f"{inst.name} {k}", "cot": None})
            for k in range(1, copies)
            for inst in universe.instruments
        ]
        universe = universe.model_copy(update={"instruments": [*universe.instruments, *extra]})
    positions, portfolio = build_ledger(signals, prices)
    return PersonaInputs(
        signals=signals,
        features=features,
        prices=prices,
        energy=base.energy,
        track_record=track,
        ledger_positions=positions,
        ledger_portfolio=portfolio,
        universe=universe,
    )


def digests(inputs: PersonaInputs, days: list[date]) -> tuple[dict[str, str], float]:
    """sha256 per persona of its documents and gold rows over the days, and of the weekly PDFs; CPU seconds."""
    hashes = {name: hashlib.sha256() for name in ("pdf",)}
    cpu = time.process_time()
    for day in days:
        outputs = build_all(inputs, day)
        for persona in sorted(outputs):
            h = hashes.setdefault(persona, hashlib.sha256())
            h.update(output_json(outputs[persona]))
            h.update(content_hash(output_rows(outputs[persona])).encode())
        if day.weekday() == 4 or day == days[-1]:
            hashes["pdf"].update(render_report(outputs["wealth_manager"], inputs.ledger_until(day)[1]))
    return {k: v.hexdigest() for k, v in sorted(hashes.items())}, time.process_time() - cpu


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", help="a JSON file printed by an earlier run: exit 1 when any hash differs")
    parser.add_argument("--scales", default="1,4")
    args = parser.parse_args(argv)
    result: dict[str, dict[str, str]] = {}
    for copies in (int(s) for s in args.scales.split(",")):
        inputs = scaled_inputs(copies)
        days = sorted({d.date() for d in inputs.signals["signal_date"]})[-DAYS:]
        assert days[-1] == DAY
        result[f"{copies}x"], cpu = digests(inputs, days)
        print(f"{copies}x universe, {len(days)} days: {cpu:.2f} CPU-s", file=sys.stderr)
    print(json.dumps(result, indent=2, sort_keys=True))
    if args.compare:
        before = json.loads(Path(args.compare).read_text(encoding="utf-8"))
        changed = [
            f"{scale}/{name}"
            for scale, names in result.items()
            for name, digest in names.items()
            if before.get(scale, {}).get(name) != digest
        ]
        if changed:
            print(f"CHANGED: {', '.join(changed)}", file=sys.stderr)
            return 1
        print("identical: every document, gold row and PDF", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
