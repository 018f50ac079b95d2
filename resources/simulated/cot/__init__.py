"""CFTC's Commitments of Traders, published the way CFTC publishes them, from the simulated world.

Two wire formats carry the same numbers:
- the Public Reporting Environment (Socrata) at `/resource/<dataset-id>.json` for the six report datasets (Legacy
  6dca-aqww / jun7-fc8e, Disaggregated 72hh-3qpy / kh3c-gbw2, TFF gpe5-46if / yw9f-hn96): JSON arrays with every
  value a string, SoQL `$where` (comparisons, `in(...)`, `between`, `is null`, `and`/`or`/`not`), `$order`,
  `$limit` (default 1000), `$offset`, `$select` (plain columns), `field=value` filters, and Socrata's error object
  with HTTP 400 when a query cannot run;
- the annual text files in their zip archives (`deacot2024.zip` holding `annual.txt`, `fut_fin_txt_2024.zip`
  holding `FinFutYY.txt`, `fut_disagg_txt_2024.zip` holding `f_year.txt`, and the combined `deahistfo`,
  `com_fin_txt_`, `com_disagg_txt_` ones) with CFTC's full headers, padding and CRLF, served at
  `/files/dea/history/<name>.zip` and written to disk by `write_files`.

Positions: `world.positioning` gives, per market code and report Tuesday, open interest and the speculators' net
share (`spec_net_share`). Each report splits open interest into its trader categories so that the speculator
category (Legacy non-commercials, TFF leveraged funds, Disaggregated managed money) holds exactly that net share
(up to one contract of rounding), the flow category (TFF asset managers; Disaggregated swap dealers) follows
`asset_mgr_net_share`, other reportables and non-reportables hold small noisy nets, and the commercial side
(Legacy commercials, TFF dealers, Disaggregated producer/merchants) takes the rest: on each side, the categories'
positions plus spreads plus non-reportables equal open interest, as in CFTC's reports. Combined reports add a
per-market options share to open interest. TFF and Disaggregated histories start on 13 June 2006, as CFTC's do.

Publication: a report is public from its release (CFTC's calendar, `resources.sources.cot.calendar`); CFTC
revises a past week now and then (`revisions`): from the revision's release day on, the API and the files show
the corrected values. Market names follow CFTC's renames (the 8 February 2022 short names, the New York Cotton
Exchange becoming ICE Futures U.S.), so names are values, never keys. Deterministic and prefix-stable: a value
never depends on the range or as-of asked for, only on which releases and revisions are public by then.

The package's modules, one job each: `reports` (markets, positions, revisions, what is public when), `socrata`
(the API) and `files` (the text files, archives and their route); importing the package registers the routes.
"""

from __future__ import annotations

from resources.simulated.cot.files import (
    annual_text,
    annual_workbook_zip,
    annual_zip,
    file_layout,
    history_text,
    published_years,
    scaled_code,
    site_export_csv,
    write_files,
    write_scaled_files,
)
from resources.simulated.cot.reports import (
    MARKETS,
    Revision,
    as_of_time,
    codes_for,
    positions,
    published,
    revisions,
)
from resources.simulated.cot.socrata import socrata_frame, warm
from resources.sources.cot.layouts import LAYOUTS

__all__ = [
    "LAYOUTS",
    "MARKETS",
    "Revision",
    "annual_text",
    "annual_workbook_zip",
    "annual_zip",
    "as_of_time",
    "codes_for",
    "file_layout",
    "history_text",
    "positions",
    "published",
    "published_years",
    "revisions",
    "scaled_code",
    "site_export_csv",
    "socrata_frame",
    "warm",
    "write_files",
    "write_scaled_files",
]
