"""Persona outputs: what each kind of user acts on, built from the day's signals, and the audit trail.

- `inputs.py`: the input contracts (`PersonaInputs`: signals, features, prices, energy, track record, universe);
- `models.py`: the output documents and their items (pydantic, published JSON Schemas); `config.py`: thresholds;
- one builder per persona: `build_<persona>(inputs, day, config) -> <Output>` and `to_rows(output) -> pa.Table`;
- `tables.py`: the gold tables (gold/personas/<persona>, partitioned by `as_of`) and JSON documents;
- `audit.py`: gold/audit/recommendations (append-only, keyed by recommendation_id) and the compliance SQL;
- `report_pdf.py` + `charts.py`: the wealth manager's weekly PDF; `daily.py`: build all six and publish a day.
"""
