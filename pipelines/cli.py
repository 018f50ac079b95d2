"""`nexus`: run the lakehouse from a terminal. Thin commands over pipelines.runner and the resources."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer._click import exceptions as click_errors  # typer vendors click and does not re-export these
from typer.core import TyperGroup

if TYPE_CHECKING:
    from pipelines.runner import JobOutcome


class UserMistake(Exception):
    """A command line the user can fix: shown as one line, exit 2, never a traceback."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _settings_problem(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors(include_url=False)
    )


class OneLineErrors(TyperGroup):
    """Every user mistake (a bad option, an unknown source, dates out of order, invalid settings) ends as one
    `error: ...` line on stderr and exit code 2, instead of a usage panel or a traceback."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        from resources.errors import ConfigError

        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except click_errors.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click_errors.ClickException as exc:
            message = _one_line(exc.format_message()).replace("Value error, ", "")
            if "valid date" in message:
                message += " (expected YYYY-MM-DD)"
            typer.echo(f"error: {message}", err=True)
            sys.exit(2 if isinstance(exc, click_errors.UsageError) else exc.exit_code)
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            sys.exit(1)
        except (UserMistake, ConfigError) as exc:
            typer.echo(f"error: {_one_line(str(exc))}", err=True)
            sys.exit(2)
        except ValidationError as exc:  # settings from the environment or .env; any other is a bug: re-raised
            if exc.title != "Settings":
                raise
            typer.echo(f"error: invalid settings: {_one_line(_settings_problem(exc))}", err=True)
            sys.exit(2)
        sys.exit(result if isinstance(result, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
    help="Nexus point-in-time market-data lakehouse.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # a traceback must never print settings or keys
)
console = Console(width=None if sys.stdout.isatty() else 160)


class Mode(StrEnum):
    simulated = "simulated"
    live = "live"
    files = "files"


def _day(value: date | None) -> date | None:
    """Typer parses `--start 2024-01-02` into a datetime; commands work with dates."""
    return value.date() if isinstance(value, datetime) else value


def _echo(line: str) -> None:
    console.print(line, highlight=False)


@app.command()
def run(
    start: Annotated[
        date | None, typer.Option(formats=["%Y-%m-%d"], help="First date (default NEXUS_START_DATE).")
    ] = None,
    end: Annotated[date | None, typer.Option(formats=["%Y-%m-%d"], help="Last date (default NEXUS_END_DATE).")] = None,
    mode: Annotated[Mode | None, typer.Option(help="Source mode (default NEXUS_SOURCE_MODE).")] = None,
) -> None:
    """Materialize the whole asset graph for a date range, in process, and record the runs in Dagster."""
    _check_run_arguments(_day(start), _day(end), mode)
    _configure_environment(
        start=_day(start),
        end=_day(end),
        mode=mode.value if mode else None,
    )
    from resources.dagster_instance import ensure_dagster_home
    from resources.settings import get_settings
    from resources.sources.keys import require_live_keys
    from resources.sources.registry import SOURCES

    settings = get_settings()  # the CLI's edge: read once, with the overrides above, and passed down
    ensure_dagster_home(settings)
    require_live_keys(settings, SOURCES)  # a missing key: one line, exit 2 (OneLineErrors)
    _echo(
        f"[bold]nexus run[/bold] {settings.start_date} → {settings.end_date}, mode={settings.source_mode}, "
        f"lake={settings.lake_uri}"
    )
    started = time.perf_counter()  # the warm-ups below count: they are part of building the graph
    # the other core's work starts before this process imports Dagster (~1.2 s) and dagster-dbt (~1.5 s)
    if settings.source_mode == "simulated":
        from resources.simulated.world_cache import prewarm_world

        prewarm_world(settings)  # the world simulated on the other core while the code location loads
    from resources.dbt import start_manifest_parse

    parsing = start_manifest_parse(settings)  # a fresh clone or an edited model: dbt parses on the other core
    from pipelines.chain_lock import ChainBusy
    from pipelines.runner import run_graph

    if parsing:
        from resources.quality.suites import warm_up

        warm_up()  # meanwhile Great Expectations' import (~4 s), which the first ingest's validation would pay
    terminal = Console(file=sys.stdout, width=console.width)  # bound now: tool output is redirected to the log
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home)
    log_path = home / "logs" / f"nexus-run-{time.strftime('%Y%m%d-%H%M%S')}.log"
    try:
        outcomes = run_graph(settings, lambda line: terminal.print(line, highlight=False), log_path=log_path)
    except ChainBusy as busy:
        console.print(f"[yellow]✋ not started:[/yellow] {busy}", highlight=False, soft_wrap=True)  # one line
        raise typer.Exit(3) from None
    elapsed = time.perf_counter() - started
    _show_timings(outcomes, elapsed)
    failed = [o for o in outcomes if not o.success]
    if failed:
        for outcome in failed:
            _echo(f"[red]✗ {outcome.job} failed[/red] (run {outcome.run_id}): {escape(outcome.error or '')}")
        _echo(f"Details: the run in the Dagster UI (make ui), and tool output in {log_path}.")
        raise typer.Exit(1)
    _show_status(json_output=False)
    _echo(f"[green]✔ built the graph in {elapsed:.1f}s[/green] (tool output: {log_path}).")
    _echo("Open the UI with [bold]make ui[/bold] (http://127.0.0.1:3000); see the lake with [bold]nexus status[/bold].")


def _configure_environment(*, start: date | None, end: date | None, mode: str | None) -> None:
    """Apply CLI overrides as NEXUS_* variables before the settings are read (by the CLI, then passed down) and
    before the code location is built from the same environment (pipelines/definitions.py)."""
    if start is not None:
        os.environ["NEXUS_START_DATE"] = start.isoformat()
    if end is not None:
        os.environ["NEXUS_END_DATE"] = end.isoformat()
    if mode is not None:
        os.environ["NEXUS_SOURCE_MODE"] = mode


def _show_timings(outcomes: list[JobOutcome], elapsed: float) -> None:
    """Where the time went: each stage (job) with its slowest asset steps, rows written and whether it skipped."""
    from pipelines.runner import orchestration_seconds, timing_rows

    grid = Table(title="Time per stage", title_justify="left")
    grid.add_column("stage", no_wrap=True)
    grid.add_column("seconds", justify="right", no_wrap=True)
    grid.add_column("rows written", justify="right", no_wrap=True)
    grid.add_column("skipped?", no_wrap=True)
    for row in timing_rows(outcomes):
        name = f"  {row.step}" if row.step else f"[bold]{row.stage}[/bold]"
        grid.add_row(name, f"{row.seconds:.1f}", f"{row.rows:,}", row.skipped)
    grid.add_row("between steps (Dagster)", f"{orchestration_seconds(outcomes):.1f}", "", "")
    grid.add_row("[bold]total[/bold]", f"{elapsed:.1f}", "", "")
    Console(file=sys.stdout, width=console.width).print(grid)


def _date_origin(option: str, given: date | None, field: str, value: date, fields_set: set[str]) -> str:
    """How to name a date in an error: the option the user typed, the variable they set, or the default."""
    if given is not None:
        return f"{option} {value}"
    if field in fields_set:
        return f"NEXUS_{field.upper()} {value}"
    return f"the default {option.removeprefix('--')} date {value}"


def _check_run_arguments(start: date | None, end: date | None, mode: Mode | None) -> None:
    """Refuse a date range `nexus run` cannot build before anything starts, naming only what the user chose."""
    from resources.settings import get_settings

    settings = get_settings()
    chosen = set(settings.model_fields_set)
    first, last = start or settings.start_date, end or settings.end_date
    if first > last:
        raise UserMistake(
            f"{_date_origin('--start', start, 'start_date', first, chosen)} is after "
            f"{_date_origin('--end', end, 'end_date', last, chosen)}; the start must be on or before the end"
        )
    calendar_first = settings.partitions_start
    if first < calendar_first:
        where = " (NEXUS_PARTITIONS_START)" if "partitions_start" in chosen else ""
        raise UserMistake(
            f"{_date_origin('--start', start, 'start_date', first, chosen)} is before the calendar's first day, "
            f"{calendar_first}{where}; choose --start {calendar_first} or later"
        )
    if (mode.value if mode else settings.source_mode) == "files" and settings.files_dir is None:
        raise UserMistake("files mode needs the folder of publisher files: set NEXUS_FILES_DIR")


def _status_console(*, wide: bool) -> Console:
    """The terminal's width when known (a tty or COLUMNS), else 100 columns, or 160 for the wide table."""
    known = sys.stdout.isatty() or os.environ.get("COLUMNS", "").isdigit()
    return Console(width=None if known else (160 if wide else 100))


def _show_status(*, json_output: bool, wide: bool = False) -> None:
    from resources.lake.catalog import list_tables
    from resources.lake.storage import LakeStorage
    from resources.settings import get_settings

    storage = LakeStorage.from_settings(get_settings())
    tables = list_tables(storage)
    if json_output:
        typer.echo(json.dumps([t.model_dump(mode="json") for t in tables], indent=2))
        return
    out = _status_console(wide=wide)
    if wide:
        grid = Table(title=f"Lake {storage.root_uri}")
        for col in ("zone", "table", "rows", "first", "last", "columns"):
            grid.add_column(col, no_wrap=col != "columns", overflow="fold")
        for t in tables:
            grid.add_row(
                t.zone,
                t.name,
                f"{t.rows:,}",
                str(t.first_date or ""),
                str(t.last_date or ""),
                f"{len(t.columns)}: " + ", ".join(t.columns),
            )
        out.print(grid)
        return
    # Narrow by default: no column list, table names wrap, at most 100 columns (or the terminal's width).
    grid = Table(title=f"Lake {storage.root_uri}", caption="nexus status --wide adds the column names")
    grid.add_column("zone", no_wrap=True)
    grid.add_column("table", overflow="fold", ratio=1)
    grid.add_column("rows", justify="right", no_wrap=True)
    grid.add_column("first", no_wrap=True)
    grid.add_column("last", no_wrap=True)
    grid.add_column("cols", justify="right", no_wrap=True)
    for t in tables:
        grid.add_row(
            t.zone, t.name, f"{t.rows:,}", str(t.first_date or ""), str(t.last_date or ""), str(len(t.columns))
        )
    out.width = min(out.width, 100)
    out.print(grid)


@app.command()
def status(
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="The full table, with every column's name.")] = False,
) -> None:
    """List every lake table: zone, rows, first and last date, number of columns (names with --wide)."""
    _show_status(json_output=json_output, wide=wide)


@app.command()
def ingest(
    source: Annotated[str, typer.Argument(help="cot, fred, eia, cboe or coinmetrics")],
    files: Annotated[
        list[Path] | None, typer.Option("--files", exists=True, help="Publisher files or folders to load.")
    ] = None,
    start: Annotated[date | None, typer.Option(formats=["%Y-%m-%d"])] = None,
    end: Annotated[date | None, typer.Option(formats=["%Y-%m-%d"])] = None,
) -> None:
    """Ingest one source into bronze and silver (from files with --files, else in the configured mode)."""
    from resources.errors import CommitConflictError, SourceError
    from resources.lake.storage import LakeStorage
    from resources.settings import get_settings
    from resources.sources.keys import require_live_keys
    from resources.sources.registry import SOURCES, ingest_source

    if source not in SOURCES:
        raise UserMistake(f"unknown source {source!r}; choose from {', '.join(SOURCES)}")
    start_d, end_d = _day(start), _day(end)
    if start_d and end_d and start_d > end_d:
        raise UserMistake(f"--start {start_d} is after --end {end_d}")
    settings = get_settings()
    if not files:
        require_live_keys(settings, [source])  # a missing key: one line, exit 2 (OneLineErrors)
    storage = LakeStorage.from_settings(settings)
    if files is None and end_d is None and settings.source_mode != "files":
        end_d = settings.end_date
    run_id = f"cli-{int(time.time())}"
    try:
        with console.status(f"ingesting {source}..."):
            reports = ingest_source(
                source, storage, settings, run_id=run_id, start=start_d, end=end_d, files=files or None
            )
    except SourceError as exc:
        for error in getattr(exc, "errors", None) or [exc]:  # one line per failed payload, location kept
            _echo(f"[red]✗ {type(error).__name__}:[/red] {escape(str(error))}")
        raise typer.Exit(2) from None
    except CommitConflictError as exc:
        _echo(f"[red]✗ CommitConflictError:[/red] {escape(str(exc))} (nothing half-written; run it again)")
        raise typer.Exit(1) from None
    for report in reports:
        s = report.summary()
        _echo(
            f"✔ {report.source} → silver/{report.table}: {s['payloads']} payloads ({s['new_payloads']} new), "
            f"added {s['added']}, revised {s['revised']}, unchanged {s['unchanged']}, "
            f"quarantined {s['quarantined']}, corrected {s['corrected']}, skipped {s['skipped']}"
        )
        for payload in report.payloads:
            if payload.warning:
                _echo(f"  [yellow]! {escape(payload.warning)}[/yellow] {escape(f'[file={payload.location}]')}")
    if any(p.warning for r in reports for p in r.payloads):
        _echo(f"  Quarantine policy: {escape(reports[0].policy)} (NEXUS_MAX_BAD_ROW_SHARE).")


@app.command()
def backfill(
    source: Annotated[str, typer.Argument(help="cot, fred, coinmetrics, or features (gold fct_features_daily)")],
    engine: Annotated[str, typer.Option(help="local (delta-rs, one process) or spark (the spark extra)")] = "local",
    start: Annotated[date | None, typer.Option(formats=["%Y-%m-%d"], help="Rebuild only rows dated from here.")] = None,
    end: Annotated[date | None, typer.Option(formats=["%Y-%m-%d"], help="Rebuild only rows dated up to here.")] = None,
) -> None:
    """Re-derive a source's silver tables from all of its bronze payloads (parse, quarantine, versioned merge).

    `features` rebuilds gold/marts/fct_features_daily instead: dbt (local) or the Spark job (spark)."""
    from resources.lake.storage import LakeStorage
    from resources.quality.row_policy import RowPolicy
    from resources.settings import get_settings
    from resources.spark.backfill import run_backfill
    from resources.spark.plans import BACKFILL_SOURCES

    if engine not in ("local", "spark"):
        raise typer.BadParameter("--engine must be local or spark")
    if source == "features":
        if start or end:
            raise typer.BadParameter("features are rebuilt whole: --start/--end do not apply")
        _backfill_features(engine)
        return
    if source not in BACKFILL_SOURCES:
        choices = ", ".join([*BACKFILL_SOURCES, "features"])
        raise typer.BadParameter(f"no backfill for {source!r}; choose from {choices}")
    settings = get_settings()
    storage = LakeStorage.from_settings(settings)
    policy = RowPolicy(max_bad_row_share=settings.max_bad_row_share)
    with console.status(f"backfilling {source} on {engine}..."):
        result = run_backfill(
            storage,
            source,
            engine=engine,  # type: ignore[arg-type]
            run_id=f"backfill-{int(time.time())}",
            start=_day(start),
            end=_day(end),
            policy=policy,
        )
    for t in result.tables:
        mark, wrote = ("✔", f"{t.rows} rows in {t.files} files") if t.committed else ("[red]✗[/red]", "NOT committed")
        _echo(
            f"{mark} {source} → silver/{t.table}: {t.payloads} payloads, {wrote}, "
            f"{t.quarantined_payloads} payloads quarantined, {t.seconds:.1f} s ({result.engine}/{result.delta_engine})"
        )
        if t.committed and t.gate:
            _echo(f"    gate: {escape(t.gate)}")
    for error in result.errors:
        _echo(f"[red]✗ {error}[/red]")
    if result.errors:
        raise typer.Exit(2)


def _backfill_features(engine: str) -> None:
    from resources.settings import get_settings
    from resources.spark.features_job import MissingMartsError, rebuild_features
    from resources.spark.mart_checks import MartCheckError

    with console.status(f"rebuilding fct_features_daily on {engine}..."):
        try:
            result = rebuild_features(get_settings(), engine)  # type: ignore[arg-type]
        except (MartCheckError, MissingMartsError) as exc:
            _echo(f"[red]✗ {type(exc).__name__}:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from None
    _echo(
        f"✔ features → gold/marts/{result.table}: {result.rows} rows in {result.files} files, "
        f"{result.seconds:.1f} s ({result.engine}/{result.delta_engine})"
    )
    _echo(f"    checks: {escape(result.gate)}")


@app.command("dbt", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dbt_command(ctx: typer.Context) -> None:
    """Run dbt in dbt_project/ with the same settings Dagster uses, e.g. `nexus dbt build`."""
    from resources.dbt import DBT_PROJECT_DIR, apply_dbt_env, dbt_executable
    from resources.settings import get_settings

    apply_dbt_env(get_settings())
    cmd = [dbt_executable(), *ctx.args]
    if "--profiles-dir" not in ctx.args:
        cmd += ["--profiles-dir", str(DBT_PROJECT_DIR)]
    raise typer.Exit(subprocess.call(cmd, cwd=DBT_PROJECT_DIR, env=os.environ.copy()))


@app.command()
def marts(
    full: Annotated[bool, typer.Option("--full", help="Rebuild every model, incremental ones from scratch.")] = False,
    publish: Annotated[
        bool, typer.Option("--publish/--no-publish", help="Publish gold and the analysts' DuckDB file after it.")
    ] = True,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object instead of lines.")] = False,
) -> None:
    """Update the marts as the nightly job does: reference tables, then dbt in this process on only what a changed
    silver table feeds, then gold."""
    from resources.dbt import apply_dbt_env
    from resources.lake.storage import LakeStorage
    from resources.marts_build import publish_gold, write_reference_tables
    from resources.marts_nightly import nightly_build
    from resources.settings import get_settings

    settings = get_settings()
    apply_dbt_env(settings)
    write_reference_tables(LakeStorage.from_settings(settings), settings)
    build = nightly_build(settings, full=full)
    report: dict[str, object] = build.as_dict()
    if build.success and publish:
        started = time.perf_counter()
        report["published"] = publish_gold(LakeStorage.from_settings(settings), settings, duckdb_file=True)
        report["publish_seconds"] = round(time.perf_counter() - started, 3)
    if json_output:
        typer.echo(json.dumps(report))
    else:
        _echo(f"marts: {build.plan.reason}")
        if build.invocation is not None:
            outcome = "passed" if build.success else f"{len(build.invocation.failures)} failed"
            _echo(f"dbt: {build.nodes} models and tests, {outcome}, in {build.seconds:.1f} s")
            for line in build.invocation.failures:
                _echo(f"  {line}")
            if build.invocation.error:
                _echo(f"  {build.invocation.error}")
        if "published" in report:
            _echo(
                f"gold: {len(report['published'])} marts and the analysts' DuckDB file in {report['publish_seconds']} s"
            )
    raise typer.Exit(0 if build.success else 1)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def sql(
    command: Annotated[str | None, typer.Option("-c", "--command", help="Run one query and exit.")] = None,
    output: Annotated[Format, typer.Option("--format", help="Output format for -c.")] = Format.table,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Knowledge time (UTC unless an offset is given): silver tables (silver_<path>) per key as known "
            "then, marts and gold tables with decision time at or before it.",
        ),
    ] = None,
    stored_at: Annotated[
        str | None,
        typer.Option("--stored-at", help="Storage time: every table at the Delta version current then (audits)."),
    ] = None,
) -> None:
    """SQL over the published marts and the other gold tables: an interactive shell, or one query with -c."""
    from resources.analyst_sql import (
        GoldTables,
        NoMartsError,
        ReadOnlyError,
        connect,
        lake_views,
        render,
        run_query,
        shell,
    )
    from resources.lake.storage import LakeStorage
    from resources.lake.time_travel import SqlInstant, TimeTravel, as_utc
    from resources.settings import get_settings

    settings = get_settings()
    lake = LakeStorage.from_settings(settings)
    timed = as_of is not None or stored_at is not None
    try:
        known_at = as_utc(as_of) if as_of is not None else None
        stored = as_utc(stored_at) if stored_at is not None else None
    except ValueError as exc:
        typer.echo(f"error: not a timestamp ({exc})", err=True)
        raise typer.Exit(2) from None
    if not settings.published_duckdb_path.exists():
        _echo(f"[red]{NoMartsError.message(settings.published_duckdb_path)}[/red]")
        raise typer.Exit(1)
    views = lake_views(lake)
    # every table also gets an `<name>_as_of(instant)` macro, so one query can compare two instants
    instant = SqlInstant(TimeTravel(lake, settings.decision_time_utc), known_at, stored, {**views[0], **views[1]})
    con = connect(settings.published_duckdb_path, prepare=instant.prepare)
    import duckdb

    gold = GoldTables(lake, instant.read, silver=timed, history=instant.history, views=views)
    with con:
        if command is None:
            if timed:
                print(instant.describe())
            shell(con, input, print, gold)
            return
        try:
            result = run_query(con, command, gold)
        except ReadOnlyError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except duckdb.Error as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(render(result, output.value, max_rows=None))


feeds_app = typer.Typer(help="Client data feeds: who receives what, and deliveries.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")


@feeds_app.command("list")
def feeds_list(
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="The full table, with each client's folder.")] = False,
) -> None:
    """Every client in the clients file: entitlements, format, cadence, latest delivery (folder with --wide)."""
    from assets.feeds.runner import feeds_storage
    from resources.feeds.clients import get_clients
    from resources.feeds.log import DELIVERY_LOG
    from resources.lake.delta import read_table
    from resources.lake.storage import LakeStorage
    from resources.settings import get_settings

    settings = get_settings()
    log = read_table(LakeStorage.from_settings(settings), DELIVERY_LOG).to_pylist()
    root = feeds_storage(settings).root_uri
    rows = []
    for client in get_clients(settings.clients_file).clients:
        mine = sorted((r for r in log if r["client_id"] == client.client_id), key=lambda r: (r["as_of"], r["version"]))
        last = mine[-1] if mine else None
        rows.append(
            {
                "client_id": client.client_id,
                "name": client.name,
                "datasets": client.datasets,
                "instruments": client.instruments,
                "format": client.format,
                "cadence": client.cadence,
                "folder": client.folder(root),
                "deliveries": len(mine),
                "last_as_of": str(last["as_of"]) if last else None,
                "last_version": int(last["version"]) if last else None,
            }
        )
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    out = _status_console(wide=wide)
    if wide:  # nothing cut: long values fold onto the next line
        table = Table()
        for name in ("client", "datasets", "instruments", "format", "cadence", "folder", "last delivery"):
            table.add_column(name, overflow="fold")
    else:  # at most 100 columns (or the terminal's width): lists wrap one name a line, folders only with --wide
        table = Table(caption=f"folders under {root}: nexus feeds list --wide shows each")
        longest = max((len(d) for r in rows for d in r["datasets"]), default=8)
        table.add_column("client", overflow="fold")
        table.add_column("datasets", overflow="fold", min_width=longest)
        table.add_column("instruments", overflow="fold", ratio=1)
        table.add_column("format\ncadence", overflow="fold")
        table.add_column("last delivery", overflow="fold")
        out.width = min(out.width, 100)
    for r in rows:
        if wide:
            last = f"{r['last_as_of']} v{r['last_version']} ({r['deliveries']} in all)" if r["last_as_of"] else "never"
            cells = [", ".join(r["datasets"]), ", ".join(r["instruments"]), r["format"], r["cadence"], r["folder"]]
        else:
            last = f"{r['last_as_of']} v{r['last_version']}\n{r['deliveries']} in all" if r["last_as_of"] else "never"
            cells = ["\n".join(r["datasets"]), ", ".join(r["instruments"]), f"{r['format']}\n{r['cadence']}"]
        table.add_row(r["client_id"], *cells, last)
    out.print(table)


@feeds_app.command("deliver")
def feeds_deliver(
    client: Annotated[str | None, typer.Option("--client", help="One client id (default: every client).")] = None,
    day: Annotated[
        date | None,
        typer.Option("--date", formats=["%Y-%m-%d"], help="Decision day (default: the latest day with signals)."),
    ] = None,
    presign: Annotated[
        bool | None, typer.Option("--presign/--no-presign", help="Print presigned URLs (S3 feeds root only).")
    ] = None,
) -> None:
    """Deliver each client's entitled data due on a day; a repeat with unchanged content delivers nothing."""
    from assets.feeds.runner import deliver_all, latest_signal_date
    from resources.errors import ConfigError, DeliveryError
    from resources.lake.storage import LakeStorage
    from resources.settings import get_settings

    settings = get_settings()
    lake = LakeStorage.from_settings(settings)
    when = _day(day) or latest_signal_date(lake) or settings.end_date
    try:
        run = deliver_all(
            lake,
            settings,
            when,
            run_id=f"cli-{int(time.time())}",
            client_id=client,
            presign=presign,
            webhook=True,
        )
    except (DeliveryError, ConfigError) as exc:
        _echo(f"[red]✗ {type(exc).__name__}:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    for r in run.results:
        mark = "✔" if r.status == "delivered" else "·"
        _echo(
            f"{mark} {r.client_id} as of {r.as_of}: {r.status} v{r.version}, {r.files} files, {r.rows} rows → "
            f"{escape(r.manifest_uri)}"
        )
        if r.links_uri:
            _echo(f"    links for the client: {escape(r.links_uri)}")
        for name, url in sorted(r.presigned_urls.items()):
            typer.echo(f"    {name}: {url}")
    for f in run.failures:
        _echo(f"[red]✗ {f.client_id}[/red] {f'as of {f.as_of}' if f.as_of else ''}: {f.error}: {escape(f.message)}")
    if run.failures:
        _echo(f"{len(run.failures)} of {len(run.failures) + len(run.results)} client deliveries failed.")
        raise typer.Exit(1)


@feeds_app.command("reproduce")
def feeds_reproduce(
    client: Annotated[str, typer.Argument(help="Client id.")],
    day: Annotated[date, typer.Argument(formats=["%Y-%m-%d"], help="The delivery's date (as_of).")],
    version: Annotated[int | None, typer.Option("--version", help="Delivered version (default: the latest).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the rebuilt files into this folder.")] = None,
) -> None:
    """Rebuild a past delivery from the lake as stored when it was made; check every file against its manifest."""
    from assets.feeds.runner import feeds_storage, register_feed_datasets
    from resources.errors import DeliveryError
    from resources.feeds.reproduce import reproduce_delivery, write_reproduction
    from resources.lake.storage import LakeStorage
    from resources.settings import get_settings

    settings = get_settings()
    lake = LakeStorage.from_settings(settings)
    register_feed_datasets()
    try:
        result, blobs = reproduce_delivery(lake, feeds_storage(settings), client, _day(day), version=version)
    except (DeliveryError, FileNotFoundError) as exc:
        _echo(f"[red]✗ {type(exc).__name__}:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    _echo(
        f"{result.client_id} as of {result.as_of} v{result.version}: lake as stored at "
        f"{result.stored_at.isoformat()} → {escape(result.manifest_uri)}"
    )
    for f in result.files:
        mark = "✔ identical" if f.identical else ("✗ missing" if f.reproduced_sha256 is None else "✗ differs")
        _echo(f"  {mark}  {escape(f.path)}  sha256 {f.expected_sha256[:16]}")
    for path in result.unexpected:
        _echo(f"  ✗ not in the manifest  {escape(path)}")
    if not result.content_sha256_matches:
        _echo("  ✗ content_sha256 differs from the manifest's")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_reproduction(LakeStorage(root_uri=str(out.resolve())), blobs)
        _echo(f"  rebuilt files written to {escape(str(out))}")
    if not result.identical:
        _echo("[red]the delivery could not be reproduced byte for byte[/red]")
        raise typer.Exit(1)
    _echo(f"reproduced byte for byte: {len(result.files)} files")


@app.command()
def maintain(
    retention_hours: Annotated[
        int | None,
        typer.Option(
            "--retention-hours",
            min=0,
            help="Delete data files unused for longer than this (default NEXUS_VACUUM_RETENTION_HOURS, 168).",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Only list the model-fit cache entries that would be removed; change nothing."),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Compact small files and vacuum old ones in every silver and gold table (bronze is never touched), and prune
    model-fit cache entries no recent run used."""
    from resources.fit_cache import prune_fit_cache
    from resources.lake.maintenance import maintain_lake
    from resources.lake.storage import LakeStorage
    from resources.settings import get_settings

    settings = get_settings()
    retention = settings.vacuum_retention_hours if retention_hours is None else retention_hours
    storage = LakeStorage.from_settings(settings)
    if dry_run:
        pruning = prune_fit_cache(storage, retention, dry_run=True)
        if json_output:
            typer.echo(json.dumps({"dry_run": True, "fit_cache": pruning.model_dump(mode="json")}))
            return
        for entry in pruning.removed:
            _echo(f"  would remove {entry.namespace}/{entry.key[:12]}…  last used {entry.last_used:%Y-%m-%d %H:%M}")
        _echo(
            f"dry run: {len(pruning.removed)} of {pruning.entries} model-fit cache entries would be removed "
            f"({pruning.removed_bytes:,} bytes; unused for {retention} h and not by the latest run); "
            "tables not touched"
        )
        return
    report = maintain_lake(storage, retention)
    pruning = prune_fit_cache(storage, retention)
    if json_output:
        typer.echo(json.dumps({**report.model_dump(mode="json"), "fit_cache": pruning.model_dump(mode="json")}))
        return
    for t in report.tables:
        if t.files_before != t.files_after or t.vacuumed_files:
            _echo(
                f"  {escape(t.table):<44} files {t.files_before:>4} → {t.files_after:<4} "
                f"vacuumed {t.vacuumed_files:>4}  v{t.version_before} → v{t.version_after}"
            )
    _echo(
        f"✔ {len(report.tables)} tables: {report.files_before} → {report.files_after} data files, "
        f"{report.vacuumed_files} unused files deleted (retention {retention} h; time travel reaches back that far)"
    )
    _echo(
        f"✔ model-fit cache: {len(pruning.removed)} of {pruning.entries} entries removed "
        f"({pruning.removed_bytes:,} bytes; unused for {retention} h and not by the latest run; a miss only refits)"
    )


@app.command()
def settings() -> None:
    """Show the effective settings (secrets shown only as set or unset)."""
    from resources.settings import get_settings

    typer.echo(json.dumps(get_settings().safe_dump(), indent=2, default=str))


def main() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
