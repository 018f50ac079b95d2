"""COT as CFTC's files: the annual text files in their zip archives (and the Excel, history and site-export
variants), the `/files/dea/history/<name>.zip` route, and writers to disk for tests and benchmarks."""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time
from functools import cache, lru_cache
from pathlib import Path

import pandas as pd

from resources.settings import DEFAULT_DECISION_TIME_UTC
from resources.simulated.cot.reports import MARKETS, Market, as_of_time, codes_for, published
from resources.simulated.cot.socrata import socrata_frame
from resources.simulated.publisher import Request, Response, SimulatedPublisher, route
from resources.simulated.world import HORIZON
from resources.sources.cot.layouts import (
    LAYOUTS,
    MARKET_CODE,
    MARKET_NAME,
    REPORT_DATE_API,
    Field,
    ReportKind,
    ReportLayout,
)

# ---------------------------------------------------------------------------------------------------------------
# Annual text files
# ---------------------------------------------------------------------------------------------------------------
# A cell of the text file: (kind, silver column or None, block All/Old/Other).
Cell = tuple[str, str | None, str]
_META_KINDS = ("name", "yymmdd", "date", "code", "initials", "region", "commodity")
_BLOCKS = ("All", "Old", "Other")


@dataclass(frozen=True)
class HeaderNaming:
    """How one layout names the annual file's columns: templates over `{block}`, `{name}` (a position field's stem
    and side, e.g. `Swap-Short`), `{measure}`, `{k}` and `{side}`, then CFTC's own irregular headers as exceptions.

    The Legacy file is spaced (`Noncommercial Positions-Long (All)`); TFF and Disaggregated are underscored
    (`M_Money_Positions_Long_All`), and a position cell there keeps its field's own header (`Swap__Positions_...`).
    """

    meta: tuple[str, ...]
    join: str  # between a field's stem and side in `{name}`
    open_interest: str | None  # the open interest cell, or None: named like the position fields
    position: str  # `{header}`: the field's header without its block
    change_open_interest: str
    change: str
    pct_open_interest: str
    pct: str
    traders_total: str
    traders: str
    concentration: str
    tail: tuple[tuple[str, str], ...]  # (header, kind) after the concentration cells
    irregular: dict[str, str] = field(default_factory=dict)  # the regular name -> CFTC's header


_SPACED = HeaderNaming(
    meta=("Market and Exchange Names", "As of Date in Form YYMMDD", "As of Date in Form YYYY-MM-DD",
          "CFTC Contract Market Code", "CFTC Market Code in Initials", "CFTC Region Code", "CFTC Commodity Code"),
    join="-",
    open_interest="Open Interest ({block})",
    position="{stem} Positions-{side} ({block})",
    change_open_interest="Change in Open Interest (All)",
    change="Change in {name} (All)",
    pct_open_interest="% of Open Interest (OI) ({block})",
    pct="% of OI-{name} ({block})",
    traders_total="Traders-Total ({block})",
    traders="Traders-{name} ({block})",
    concentration="Concentration-{measure} LT ={k} TDR-{side} ({block})",
    tail=(("Contract Units", "units"), ("CFTC Contract Market Code (Quotes)", "q_code"),
          ("CFTC Market Code in Initials (Quotes)", "q_initials"), ("CFTC Commodity Code (Quotes)", "q_commodity")),
    irregular={
        "Total Reportable Positions-Long (All)": " Total Reportable Positions-Long (All)",
        "% of Open Interest (OI) (Old)": "% of Open Interest (OI)(Old)",
        "Concentration-Gross LT =4 TDR-Long (All)": "Concentration-Gross LT = 4 TDR-Long (All)",
        "Concentration-Gross LT =4 TDR-Short (Other)": "Concentration-Gross LT =4 TDR-Short(Other)",
        "Concentration-Gross LT =8 TDR-Short (Other)": "Concentration-Gross LT =8 TDR-Short(Other)",
    },
)  # fmt: skip
_UNDERSCORED = HeaderNaming(
    meta=("Market_and_Exchange_Names", "As_of_Date_In_Form_YYMMDD", "Report_Date_as_YYYY-MM-DD",
          "CFTC_Contract_Market_Code", "CFTC_Market_Code", "CFTC_Region_Code", "CFTC_Commodity_Code"),
    join="_",
    open_interest=None,
    position="{header}{block}",
    change_open_interest="Change_in_Open_Interest_All",
    change="Change_in_{name}_All",
    pct_open_interest="Pct_of_Open_Interest_{block}",
    pct="Pct_of_OI_{name}_{block}",
    traders_total="Traders_Tot_{block}",
    traders="Traders_{name}_{block}",
    concentration="Conc_{measure}_LE_{k}_TDR_{side}_{block}",
    tail=(("Contract_Units", "units"), ("CFTC_Contract_Market_Code_Quotes", "q_code"),
          ("CFTC_Market_Code_Quotes", "q_initials"), ("CFTC_Commodity_Code_Quotes", "q_commodity"),
          ("CFTC_SubGroup_Code", "subgroup"), ("FutOnly_or_Combined", "flag")),
)  # fmt: skip
HEADER_NAMING: dict[ReportKind, HeaderNaming] = {
    "legacy": _SPACED,
    "tff": _UNDERSCORED,
    "disaggregated": _UNDERSCORED,
}


def _stem_side(header: str) -> tuple[str, str]:
    """`Swap__Positions_Short_All` -> ('Swap', 'Short'); `Noncommercial Positions-Spreading (All)` -> (.., ..)."""
    if "_Positions_" in header:
        stem, rest = header.split("_Positions_")
        return stem.strip("_"), rest.split("_")[0]
    stem, rest = header.strip().split(" Positions-")
    return stem, rest.split(" ")[0]


def _header_cells(layout: ReportLayout, naming: HeaderNaming) -> list[tuple[str, Cell]]:
    """Every column of a report's annual file in CFTC's order, named by `naming`: meta, positions per block,
    changes, percentages of open interest per block, trader counts per block, concentration per block, tail."""
    blocks = ("All",) if layout.report == "tff" else _BLOCKS  # TFF's file has no old/other crop years
    fields = layout.positions[1:]  # the first is open interest
    names = {f.column: naming.join.join(_stem_side(f.header)) for f in fields}

    def position(f: Field, block: str) -> str:
        if "{header}" in naming.position:
            return naming.position.format(header=f.header[: -len("All")], block=block)
        stem, side = _stem_side(f.header)
        return naming.position.format(stem=stem, side=side, block=block)

    cells: list[tuple[str, Cell]] = [(h, (k, None, "All")) for h, k in zip(naming.meta, _META_KINDS, strict=True)]
    for block in blocks:
        if naming.open_interest is not None:
            cells.append((naming.open_interest.format(block=block), ("position", "open_interest", block)))
        named = layout.positions if naming.open_interest is None else fields
        cells += [(position(f, block), ("position", f.column, block)) for f in named]
    cells.append((naming.change_open_interest, ("change", "open_interest", "All")))
    cells += [(naming.change.format(name=names[f.column]), ("change", f.column, "All")) for f in fields]
    for block in blocks:
        cells.append((naming.pct_open_interest.format(block=block), ("pct_oi", None, block)))
        cells += [(naming.pct.format(name=names[f.column], block=block), ("pct", f.column, block)) for f in fields]
    for block in blocks:
        cells.append((naming.traders_total.format(block=block), ("traders_total", None, block)))
        cells += [
            (naming.traders.format(name=names[f.column], block=block), ("traders", f.column, block))
            for f in fields
            if not f.column.startswith("nonreportable")
        ]
    for block in blocks:
        for measure in ("Gross", "Net"):
            for k in (4, 8):
                for side in ("Long", "Short"):
                    header = naming.concentration.format(measure=measure, k=k, side=side, block=block)
                    cells.append((header, ("conc", f"{measure}{k}{side}", block)))
    cells += [(header, (kind, None, "All")) for header, kind in naming.tail]
    return [(naming.irregular.get(header, header), cell) for header, cell in cells]


@lru_cache(maxsize=3)
def file_layout(report: ReportKind) -> tuple[tuple[str, Cell], ...]:
    """Every column of the report's annual file, with CFTC's exact headers."""
    layout = LAYOUTS[report]
    return tuple(_header_cells(layout, HEADER_NAMING[report]))


def _traders(position: int, oi: int) -> int:
    """A plausible count of traders holding `position` contracts (deterministic; CFTC's real counts are private)."""
    return max(1, round(4 + 40 * (position / oi) ** 0.6 * math.log10(10 + oi / 1000)))


@cache
def _column_groups(report: ReportKind) -> dict[str, tuple[str, ...]]:
    """Position columns by use in the trader-count and concentration cells (computed once, not per cell)."""
    columns = LAYOUTS[report].position_columns
    return {
        "traders": tuple(c for c in columns if c.endswith(("_long", "_short", "_spread"))),
        **{s: tuple(c for c in columns if c.endswith(f"_{s}") and "total" not in c) for s in ("long", "short")},
    }


def _cell(kind: str, column: str | None, block: str, row: dict, previous: dict | None, layout: ReportLayout) -> str:
    market: Market = row["market"]
    oi = row["open_interest"]
    other = block == "Other"
    if kind == "name":
        return f'"{row["name"]}"'
    if kind == "yymmdd":
        return row["report_date"].strftime("%y%m%d")
    if kind == "date":
        return row["report_date"].isoformat()
    if kind == "code":
        return row["code"]
    if kind in ("initials", "region", "commodity"):
        return {"initials": market.initials, "region": market.region, "commodity": market.commodity_code}[kind]
    if kind == "position":
        return f"{0 if other else row[column]:8d}"
    if kind == "change":
        return "." if previous is None else f"{row[column] - previous[column]:8d}"
    if kind == "pct_oi":
        return f"{0.0 if other else 100.0:7.1f}"
    if kind == "pct":
        return f"{0.0 if other or oi == 0 else 100 * row[column] / oi:7.1f}"
    if kind == "traders_total":
        categories = _column_groups(layout.report)["traders"]
        return f"{0 if other else sum(_traders(row[c], oi) for c in categories if row[c]) // 2:7d}"
    if kind == "traders":
        if other:
            return f"{0:7d}"
        return "." if row[column] == 0 else f"{_traders(row[column], oi):7d}"
    if kind == "conc":
        if other:
            return f"{0.0:8.1f}"
        side = "long" if column.endswith("Long") else "short"  # type: ignore[union-attr]
        largest = max(row[c] for c in _column_groups(layout.report)[side])
        share = 100 * largest / oi if oi else 0.0
        share *= (0.55 if "4" in column else 0.8) * (0.95 if column.startswith("Net") else 1.0)  # type: ignore[union-attr]
        return f"{min(share, 99.9):8.1f}"
    if kind == "units":
        return f'"{market.units}"'
    if kind == "q_code":
        return f'"{row["code"]}"'
    if kind == "q_initials":
        return f'"{market.initials}"'
    if kind == "q_commodity":
        return f'"{market.commodity_code}"'
    if kind == "subgroup":
        return f'"{market.subgroup}"'
    if kind == "flag":
        return '"FutOnly"' if row["futures_only"] else '"Combined"'
    raise ValueError(kind)


def annual_text(
    seed: int,
    report: ReportKind,
    year: int,
    as_of: date,
    futures_only: bool = True,
    *,
    decision_time_utc: time = DEFAULT_DECISION_TIME_UTC,
) -> bytes:
    """The year's annual file as CFTC served it at the end of `as_of`: markets in code order, newest week first."""
    frame = published(seed, report, futures_only, as_of_time(seed, as_of, decision_time_utc))
    return _annual_text_of(frame, report, year, futures_only, MARKETS)


def _annual_text_of(
    frame: pd.DataFrame, report: ReportKind, year: int, futures_only: bool, markets: dict[str, Market]
) -> bytes:
    """Render a published frame's `year` as the annual file (markets looked up by code in `markets`)."""
    return _text_file(report, frame, futures_only, lambda day: day.year == year, markets)


def history_text(seed: int, report: ReportKind, as_of: date, *, rows: int, futures_only: bool = True) -> bytes:
    """A multi-year history file (one header over many years, as in CFTC's historical compressed archives such as
    `deahistfo_1986_2016`), holding exactly the first `rows` data lines of the newest report weeks that fill them."""
    frame = published(seed, report, futures_only, as_of_time(seed, as_of))
    per_week = frame.groupby("report_date").size().sort_index(ascending=False)
    weeks = per_week.index[: int((per_week.cumsum() < rows).sum()) + 1]
    if per_week.loc[weeks].sum() < rows:
        raise ValueError(f"the {report} history holds only {per_week.sum():,} rows, fewer than {rows:,}")
    oldest = weeks.min()
    text = _text_file(report, frame, futures_only, lambda day: day >= oldest, MARKETS)
    return b"".join(text.splitlines(keepends=True)[: rows + 1])


def _text_file(
    report: ReportKind,
    frame: pd.DataFrame,
    futures_only: bool,
    keep: Callable[[date], bool],
    markets: dict[str, Market],
) -> bytes:
    """Rows of `frame` whose report date `keep` accepts, in the text layout: markets in code order, newest first."""
    layout = LAYOUTS[report]
    frame = frame.sort_values(["code", "report_date"])
    cells = file_layout(report)
    lines = [",".join(f'"{h}"' for h, _ in cells)]
    for code, group in frame.groupby("code", sort=True):
        records = group.to_dict("records")
        previous_of = {i: records[i - 1] if i else None for i in range(len(records))}
        for i in reversed(range(len(records))):
            row = records[i]
            if not keep(row["report_date"]):
                continue
            row = {**row, "market": markets[str(code)], "futures_only": futures_only}
            lines.append(",".join(_cell(k, c, b, row, previous_of[i], layout) for _, (k, c, b) in cells))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _zipped(report: ReportKind, year: int, futures_only: bool, text: bytes) -> bytes:
    _, member = LAYOUTS[report].annual_files[futures_only]
    info = zipfile.ZipInfo(member, date_time=(year, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, text)
    return buffer.getvalue()


def annual_zip(
    seed: int,
    report: ReportKind,
    year: int,
    as_of: date,
    futures_only: bool = True,
    *,
    decision_time_utc: time = DEFAULT_DECISION_TIME_UTC,
) -> bytes:
    """The zip archive CFTC ships the annual file in (fixed timestamps, so the same state gives the same bytes)."""
    text = annual_text(seed, report, year, as_of, futures_only, decision_time_utc=decision_time_utc)
    return _zipped(report, year, futures_only, text)


def annual_workbook_zip(seed: int, report: ReportKind, year: int, as_of: date, futures_only: bool = True) -> bytes:
    """The year's historical compressed Excel file (`dea_fut_xls_<year>.zip` and friends): one workbook of one
    sheet with the text file's columns and rows, numbers as numbers and report dates as date cells. Written as
    .xlsx (`spreadsheets`): CFTC's member is an .xls, so the member here is `<annual member>.xlsx`."""
    import csv

    from resources.simulated.spreadsheets import typed, xlsx

    text = annual_text(seed, report, year, as_of, futures_only).decode("utf-8")
    rows = list(csv.reader(text.splitlines()))
    book = xlsx({"XLS": [[h.strip() for h in rows[0]], *([typed(c) for c in row] for row in rows[1:])]})
    _, member = LAYOUTS[report].annual_files[futures_only]
    info = zipfile.ZipInfo(member.rsplit(".", 1)[0] + ".xlsx", date_time=(year, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, book)
    return buffer.getvalue()


def _display_name(api_name: str) -> str:
    """A Socrata field name as the site shows it: `noncomm_positions_long_all` -> `Noncomm_Positions_Long_All`."""
    return "_".join(part[:1].upper() + part[1:] for part in api_name.split("_"))


def site_export_csv(
    seed: int, report: ReportKind, as_of: date, futures_only: bool = True, *, iso_dates: bool = False
) -> bytes:
    """The dataset as the public reporting site's "Export > CSV" writes it at the end of `as_of`.

    Columns carry the dataset's display names (`ID`, `Report_Date_as_YYYY_MM_DD`, `YYYY Report Week WW`,
    `Contract_Market_Name`, `Commodity Name`, `FutOnly_or_Combined`, positions named like their fields); report
    dates are Socrata floating timestamps (`01/02/2024 12:00:00 AM`, or ISO with `iso_dates`); newest first.
    """
    records, _ = socrata_frame(seed, report, futures_only, as_of_time(seed, as_of))
    records = records.sort_values([REPORT_DATE_API, MARKET_CODE.api_name], ascending=[False, True])
    layout = LAYOUTS[report]
    stamps = pd.to_datetime(records[REPORT_DATE_API])
    frame = pd.DataFrame(
        {
            "ID": records["id"],
            "Market_and_Exchange_Names": records[MARKET_NAME.api_name],
            "Report_Date_as_YYYY_MM_DD": stamps.dt.strftime(
                "%Y-%m-%dT00:00:00.000" if iso_dates else "%m/%d/%Y 12:00:00 AM"
            ),
            "YYYY Report Week WW": records["yyyy_report_week_ww"],
            "Contract_Market_Name": records["contract_market_name"],
            "CFTC_Contract_Market_Code": records[MARKET_CODE.api_name],
            "CFTC_Market_Code": records["cftc_market_code"],
            "CFTC_Region_Code": records["cftc_region_code"],
            "CFTC_Commodity_Code": records["cftc_commodity_code"],
            "Commodity Name": records["commodity_name"],
            **{_display_name(f.api_name): records[f.api_name].astype("int64") for f in layout.positions},
            "Contract_Units": records["contract_units"],
            "FutOnly_or_Combined": records["futonly_or_combined"],
        }
    )
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def published_years(
    seed: int,
    report: ReportKind,
    as_of: date,
    futures_only: bool = True,
    *,
    decision_time_utc: time = DEFAULT_DECISION_TIME_UTC,
) -> list[int]:
    frame = published(seed, report, futures_only, as_of_time(seed, as_of, decision_time_utc))
    return sorted({d.year for d in frame["report_date"]})


def write_files(
    folder: Path,
    seed: int,
    as_of: date,
    *,
    reports: tuple[ReportKind, ...] = ("legacy", "tff", "disaggregated"),
    years: tuple[int, ...] | None = None,
    combined: bool = False,
) -> list[Path]:
    """Write the annual zip archives CFTC offers for download, as they stood at the end of `as_of`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for futures_only in (True, False) if combined else (True,):
        for report in reports:
            zip_name, _ = LAYOUTS[report].annual_files[futures_only]
            for year in published_years(seed, report, as_of, futures_only):
                if years is not None and year not in years:
                    continue
                path = folder / zip_name.format(year=year)
                path.write_bytes(annual_zip(seed, report, year, as_of, futures_only))
                written.append(path)
    return written


def scaled_code(code: str, copy: int) -> str:
    """The market code of a scaled universe's `copy`-th replica of `code` (0: the market itself).

    CFTC codes are 6 letters or digits and none starts with X: `X`, the copy and the market's place among the
    simulated markets (base 36), then the code's last two characters stay valid and unique for up to 1,295
    copies."""
    if copy == 0:
        return code
    if not 0 < copy < 36 * 36:
        raise ValueError(f"copy {copy} out of range (1..1295)")
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    place = list(MARKETS).index(code)
    return f"X{digits[copy // 36]}{digits[copy % 36]}{digits[place]}{code[4:]}"


_ROW_CODE = re.compile(r",(\d{6}),(\d{4}-\d{2}-\d{2}),([^,]+),")


def _replica_line(line: str, code: str, replica: str) -> str:
    """One annual-file row of market `code` as replica `replica`: its code cell and its quoted code cell renamed."""
    return _ROW_CODE.sub(lambda m: f",{m[1]},{m[2]},{replica},", line, count=1).replace(f'"{code}"', f'"{replica}"')


def write_scaled_files(
    folder: Path,
    seed: int,
    as_of: date,
    *,
    markets: int,
    years: int,
    reports: tuple[ReportKind, ...] = ("legacy", "tff", "disaggregated"),
    combined: bool = False,
) -> list[Path]:
    """A scaled universe for benchmarks and parity tests: each report's annual zips for the last `years` years up to
    `as_of`, holding `markets` markets per report: the simulated ones, then replicas under `scaled_code` with the
    same positions and revisions. Each row is rendered once and copied, so 100 times the universe stays cheap."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for futures_only in (True, False) if combined else (True,):
        for report in reports:
            codes = codes_for(report)
            chosen = [(codes[i % len(codes)], i // len(codes)) for i in range(markets)]
            chosen.sort(key=lambda c: scaled_code(*c))  # CFTC's files list markets in code order
            zip_name, _ = LAYOUTS[report].annual_files[futures_only]
            for year in range(as_of.year - years + 1, as_of.year + 1):
                if year not in published_years(seed, report, as_of, futures_only):
                    continue
                header, *rows = annual_text(seed, report, year, as_of, futures_only).decode("utf-8").split("\r\n")
                by_code: dict[str, list[str]] = {}
                for row in rows:
                    if row:
                        by_code.setdefault(_ROW_CODE.search(row)[3], []).append(row)  # type: ignore[index]
                lines = [header]
                for code, copy in chosen:
                    replica = scaled_code(code, copy)
                    lines += [r if copy == 0 else _replica_line(r, code, replica) for r in by_code.get(code, [])]
                path = folder / zip_name.format(year=year)
                path.write_bytes(_zipped(report, year, futures_only, ("\r\n".join(lines) + "\r\n").encode("utf-8")))
                written.append(path)
    return written


_ARCHIVES = {
    zip_name.split("{")[0]: (report, futures_only)
    for report, layout in LAYOUTS.items()
    for futures_only, (zip_name, _) in layout.annual_files.items()
}


@route(r"/files/dea/history/(?P<prefix>[a-z_]+)(?P<year>\d{4})\.zip")
def _serve_archive(app: SimulatedPublisher, request: Request, match: object) -> Response:
    prefix, year = match.group("prefix"), int(match.group("year"))  # type: ignore[attr-defined]
    if prefix not in _ARCHIVES:
        return Response.not_found(request.path)
    report, futures_only = _ARCHIVES[prefix]
    at = app.decision_time_utc
    if (
        year not in published_years(app.seed, report, app.as_of, futures_only, decision_time_utc=at)
        or year > HORIZON.year
    ):
        return Response.not_found(request.path)
    return Response(
        200, annual_zip(app.seed, report, year, app.as_of, futures_only, decision_time_utc=at), "application/zip"
    )
