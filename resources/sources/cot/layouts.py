"""The three COT report layouts: silver columns, annual-file headers, Socrata field names, datasets and file names.

One table per report keeps every spelling CFTC uses in one place, so the parser, the client and the simulated
publisher cannot disagree. Spellings are CFTC's own, quirks included:
- Legacy text files use spaced names with a leading space on one header (`" Total Reportable Positions-Long
  (All)"`); TFF and Disaggregated use underscores, Disaggregated doubles one (`Swap__Positions_Short_All`) and some
  files write `_ALL`. Headers are matched trimmed and case-insensitively.
- Socrata lower-cases the headers but drops `_all` on some fields (`lev_money_positions_long`,
  `tot_rept_positions_short`), keeps CFTC's typo `noncomm_postions_spread_all`, and the double underscore. The
  first name of each field is the one the live API returns; the reader also accepts it with or without `_all`
  and the lower-cased text header, spellings seen in third-party copies of the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

ReportKind = Literal["legacy", "tff", "disaggregated"]
REPORTS: tuple[ReportKind, ...] = ("legacy", "tff", "disaggregated")


def normalize_header(name: str) -> str:
    """How headers are compared: trimmed, inner whitespace collapsed, lower case."""
    return re.sub(r"\s+", " ", name.strip()).lower()


@dataclass(frozen=True)
class Field:
    """One silver column and its spellings: in the annual text files and in the Socrata API."""

    column: str
    text: tuple[str, ...]
    api: tuple[str, ...]

    @property
    def api_names(self) -> tuple[str, ...]:
        """Accepted Socrata names: the live one first, then with or without `_all`, and the lower-cased headers."""
        names = list(self.api)
        for name in self.api:
            names.append(name[: -len("_all")] if name.endswith("_all") else f"{name}_all")
        names += [t.lower() for t in self.text if "_" in t]
        return tuple(dict.fromkeys(names))

    @property
    def header(self) -> str:
        """The header as CFTC writes it in today's files."""
        return self.text[0]

    @property
    def api_name(self) -> str:
        """The field name the live Socrata API returns."""
        return self.api[0]


@dataclass(frozen=True)
class Category:
    """A trader category of a report; `spread` when CFTC reports spreading positions for it."""

    stem: str
    label: str
    spread: bool


@dataclass(frozen=True)
class ReportLayout:
    report: ReportKind
    title: str
    categories: tuple[Category, ...]  # reportable categories (totals and non-reportables are separate columns)
    speculator: str  # stem of the category the speculator net share is read from
    positions: tuple[Field, ...]  # open interest, then every position column in file order
    dataset_ids: dict[bool, str]  # futures_only -> Socrata dataset id
    annual_files: dict[bool, tuple[str, str]]  # futures_only -> (zip name with {year}, member name)
    history_start: date  # first report date CFTC publishes for this layout

    @property
    def position_columns(self) -> tuple[str, ...]:
        return tuple(f.column for f in self.positions)

    @property
    def long_columns(self) -> tuple[str, ...]:
        """Columns that add up to open interest on the long side (with the spreads)."""
        return (*(f"{c.stem}_long" for c in self.categories), "nonreportable_long")

    @property
    def short_columns(self) -> tuple[str, ...]:
        return (*(f"{c.stem}_short" for c in self.categories), "nonreportable_short")

    @property
    def spread_columns(self) -> tuple[str, ...]:
        return tuple(f"{c.stem}_spread" for c in self.categories if c.spread)

    def dataset(self, futures_only: bool) -> str:
        """Bronze dataset name of this report's payloads, e.g. `tff_futures_only`."""
        return f"{self.report}_{'futures_only' if futures_only else 'combined'}"


def _fields(*rows: tuple[str, str, str]) -> tuple[Field, ...]:
    """Rows of (silver column, text headers, Socrata names); several spellings are separated by `|`.

    The Socrata names are header spellings too: the CSV export of CFTC's public reporting site heads its columns
    with the dataset's field names (`NonComm_Positions_Long_All` in a Legacy export), compared case-insensitively.
    """
    return tuple(
        Field(column, tuple(dict.fromkeys([*text.split("|"), *api.split("|")])), tuple(api.split("|")))
        for column, text, api in rows
    )


# Columns every layout shares. Report dates come in several header spellings and formats across the years.
MARKET_NAME, MARKET_CODE, FUTURES_FLAG = _fields(
    ("market_name", "Market_and_Exchange_Names|Market and Exchange Names", "market_and_exchange_names"),
    ("cftc_contract_market_code", "CFTC_Contract_Market_Code|CFTC Contract Market Code", "cftc_contract_market_code"),
    ("futures_only", "FutOnly_or_Combined", "futonly_or_combined"),
)
REPORT_DATE_API = "report_date_as_yyyy_mm_dd"
# The site export writes Socrata floating timestamps: `01/02/2024 12:00:00 AM` or `2024-01-02T00:00:00.000`.
SITE_EXPORT_DATE = "socrata-timestamp"
REPORT_DATE_HEADERS: tuple[tuple[str, str], ...] = (  # (header, strptime format), in order of preference
    ("Report_Date_as_YYYY-MM-DD", "%Y-%m-%d"),
    ("As of Date in Form YYYY-MM-DD", "%Y-%m-%d"),
    ("Report_Date_as_MM_DD_YYYY", "%m/%d/%Y"),
    ("As of Date in Form MM/DD/YYYY", "%m/%d/%Y"),
    ("As_of_Date_Form_MM/DD/YYYY", "%m/%d/%Y"),
    ("As_of_Date_In_Form_YYMMDD", "%y%m%d"),
    ("As of Date in Form YYMMDD", "%y%m%d"),
    ("Report_Date_as_YYYY_MM_DD", SITE_EXPORT_DATE),  # the public reporting site's CSV export
)
FUTURES_ONLY_VALUES = {"futonly": True, "combined": False}

_TOTALS = (
    ("total_reportable_long", "Tot_Rept_Positions_Long_All", "tot_rept_positions_long_all"),
    ("total_reportable_short", "Tot_Rept_Positions_Short_All", "tot_rept_positions_short"),
    ("nonreportable_long", "NonRept_Positions_Long_All", "nonrept_positions_long_all"),
    ("nonreportable_short", "NonRept_Positions_Short_All", "nonrept_positions_short_all"),
)
_OTHER_REPORTABLES = (
    ("other_reportable_long", "Other_Rept_Positions_Long_All", "other_rept_positions_long"),
    ("other_reportable_short", "Other_Rept_Positions_Short_All", "other_rept_positions_short"),
    ("other_reportable_spread", "Other_Rept_Positions_Spread_All", "other_rept_positions_spread"),
)

LEGACY = ReportLayout(
    report="legacy",
    title="Legacy",
    categories=(Category("noncommercial", "Non-commercial", True), Category("commercial", "Commercial", False)),
    speculator="noncommercial",
    positions=_fields(
        ("open_interest", "Open Interest (All)", "open_interest_all"),
        ("noncommercial_long", "Noncommercial Positions-Long (All)", "noncomm_positions_long_all"),
        ("noncommercial_short", "Noncommercial Positions-Short (All)", "noncomm_positions_short_all"),
        (
            "noncommercial_spread",
            "Noncommercial Positions-Spreading (All)",
            "noncomm_postions_spread_all|noncomm_positions_spread_all",
        ),
        ("commercial_long", "Commercial Positions-Long (All)", "comm_positions_long_all"),
        ("commercial_short", "Commercial Positions-Short (All)", "comm_positions_short_all"),
        ("total_reportable_long", "Total Reportable Positions-Long (All)", "tot_rept_positions_long_all"),
        ("total_reportable_short", "Total Reportable Positions-Short (All)", "tot_rept_positions_short"),
        ("nonreportable_long", "Nonreportable Positions-Long (All)", "nonrept_positions_long_all"),
        ("nonreportable_short", "Nonreportable Positions-Short (All)", "nonrept_positions_short_all"),
    ),
    dataset_ids={True: "6dca-aqww", False: "jun7-fc8e"},
    annual_files={True: ("deacot{year}.zip", "annual.txt"), False: ("deahistfo{year}.zip", "annualof.txt")},
    history_start=date(1986, 1, 15),
)

TFF = ReportLayout(
    report="tff",
    title="Traders in Financial Futures",
    categories=(
        Category("dealer", "Dealer/Intermediary", True),
        Category("asset_manager", "Asset Manager/Institutional", True),
        Category("leveraged_funds", "Leveraged Funds", True),
        Category("other_reportable", "Other Reportables", True),
    ),
    speculator="leveraged_funds",
    positions=_fields(
        ("open_interest", "Open_Interest_All", "open_interest_all"),
        ("dealer_long", "Dealer_Positions_Long_All", "dealer_positions_long_all"),
        ("dealer_short", "Dealer_Positions_Short_All", "dealer_positions_short_all"),
        ("dealer_spread", "Dealer_Positions_Spread_All", "dealer_positions_spread_all"),
        ("asset_manager_long", "Asset_Mgr_Positions_Long_All", "asset_mgr_positions_long"),
        ("asset_manager_short", "Asset_Mgr_Positions_Short_All", "asset_mgr_positions_short"),
        ("asset_manager_spread", "Asset_Mgr_Positions_Spread_All", "asset_mgr_positions_spread"),
        ("leveraged_funds_long", "Lev_Money_Positions_Long_All", "lev_money_positions_long"),
        ("leveraged_funds_short", "Lev_Money_Positions_Short_All", "lev_money_positions_short"),
        ("leveraged_funds_spread", "Lev_Money_Positions_Spread_All", "lev_money_positions_spread"),
        *_OTHER_REPORTABLES,
        *_TOTALS,
    ),
    dataset_ids={True: "gpe5-46if", False: "yw9f-hn96"},
    annual_files={True: ("fut_fin_txt_{year}.zip", "FinFutYY.txt"), False: ("com_fin_txt_{year}.zip", "FinComYY.txt")},
    history_start=date(2006, 6, 13),
)

DISAGGREGATED = ReportLayout(
    report="disaggregated",
    title="Disaggregated",
    categories=(
        Category("producer_merchant", "Producer/Merchant/Processor/User", False),
        Category("swap_dealer", "Swap Dealers", True),
        Category("managed_money", "Managed Money", True),
        Category("other_reportable", "Other Reportables", True),
    ),
    speculator="managed_money",
    positions=_fields(
        ("open_interest", "Open_Interest_All", "open_interest_all"),
        ("producer_merchant_long", "Prod_Merc_Positions_Long_All", "prod_merc_positions_long"),
        ("producer_merchant_short", "Prod_Merc_Positions_Short_All", "prod_merc_positions_short"),
        ("swap_dealer_long", "Swap_Positions_Long_All", "swap_positions_long_all"),
        ("swap_dealer_short", "Swap__Positions_Short_All|Swap_Positions_Short_All", "swap__positions_short_all"),
        ("swap_dealer_spread", "Swap__Positions_Spread_All|Swap_Positions_Spread_All", "swap__positions_spread_all"),
        ("managed_money_long", "M_Money_Positions_Long_All", "m_money_positions_long_all"),
        ("managed_money_short", "M_Money_Positions_Short_All", "m_money_positions_short_all"),
        ("managed_money_spread", "M_Money_Positions_Spread_All", "m_money_positions_spread"),
        *_OTHER_REPORTABLES,
        *_TOTALS,
    ),
    dataset_ids={True: "72hh-3qpy", False: "kh3c-gbw2"},
    annual_files={
        True: ("fut_disagg_txt_{year}.zip", "f_year.txt"),
        False: ("com_disagg_txt_{year}.zip", "c_year.txt"),
    },
    history_start=date(2006, 6, 13),
)

LAYOUTS: dict[ReportKind, ReportLayout] = {"legacy": LEGACY, "tff": TFF, "disaggregated": DISAGGREGATED}
# Legacy files carry no FutOnly_or_Combined column: the combined report is told apart by its file names.
LEGACY_COMBINED_NAME_HINTS = ("annualof", "deahistfo", "deacom", "com95")


def layout_for_dataset(dataset: str) -> ReportLayout | None:
    """The layout of a bronze dataset name such as `tff_futures_only` (None when it names none)."""
    for layout in LAYOUTS.values():
        if dataset in (layout.dataset(True), layout.dataset(False)):
            return layout
    return None


def futures_only_of_dataset(dataset: str) -> bool:
    return not dataset.endswith("_combined")
