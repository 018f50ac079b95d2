"""FRED with vintages (ALFRED): observations keyed by real-time period, series metadata, and FRED's CSV downloads.

- `spec.py`: the silver tables (`fred/observations`, `fred/series`) and their quality suites;
- `calendar.py`: when FRED publishes (first-release rules, the stated time of day of a vintage);
- `client.py`: the documented endpoints over `HttpFetcher` (no fredapi), paging, CSV files from disk;
- `wire.py`, `api_parser.py`: the API's XML/JSON answers; `parser.py`: the CSV downloads;
- `ingest.py`: the uniform entry point, and the count of new vintages as revisions.
"""
