"""dbt run inside the calling process, its parsed manifest kept for the next invocation.

The dbt CLI spends about 4.5 s on these machines before its first model runs (interpreter and imports ~2 s,
partial parse ~1.1 s, adapter set-up), which is most of a nightly update of the marts. Dagster's code location has
already imported dbt, so the marts asset runs dbt here: an invocation costs ~0.3 s of overhead, and the parsed
manifest is pickled beside dbt's own artifacts, so a new process parses again only when a project file, dbt or
the environment the project reads has changed. The pickle is this project's own file in its target folder,
written and read by the same code.

Results come back as dbt's structured-log records (the dicts `dbt --log-format json` prints), so dagster-dbt's
own event conversion turns them into asset materializations and check results exactly as for the CLI.

This module is the only one that leans on dagster-dbt's non-public functions (`DAGSTER_DBT_PRIVATE`: the runtime
selection of a Dagster context, the manifest behind a dbt multi-asset, the conversion of a dbt result record into
Dagster events). They are checked against one dagster-dbt version (`DAGSTER_DBT_CHECKED`); a test fails when the
installed version differs, so an upgrade re-checks them instead of breaking the marts silently.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import pickle
import re
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetsDefinition, Failure
from dagster_dbt import DagsterDbtTranslator, DbtCliResource
from dagster_dbt.asset_utils import (
    extract_runtime_selection_from_args,
    get_manifest_and_translator_from_dbt_assets,
    get_updated_cli_invocation_params_for_context,
)
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
from dbt.cli.main import dbtRunner
from dbt.contracts.graph.manifest import Manifest
from dbt.version import __version__ as dbt_version
from dbt_common.events.base_types import EventMsg
from dbt_common.events.functions import msg_to_dict

from resources.dbt import DBT_PROJECT_DIR, project_files

# The dagster-dbt version whose private functions below were read and tested; see tests/unit/test_dbt_inprocess.py.
DAGSTER_DBT_CHECKED = "0.29.27"
DAGSTER_DBT_PRIVATE = (
    extract_runtime_selection_from_args,
    get_manifest_and_translator_from_dbt_assets,
    get_updated_cli_invocation_params_for_context,
    DbtCoreCliEventMessage,
)

RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
# `env_var('NAME')` in a project file: what the project reads from the environment (source paths, vars, the
# profile), so a change of one of those values means a new parse. Only those: never the process's secrets.
_ENV_VAR = re.compile(r"""env_var\(\s*['"]([A-Za-z0-9_]+)['"]""")

_parsed: dict[tuple[Any, ...], Manifest] = {}
MANIFEST_PICKLE = "nexus_manifest"
PICKLES_KEPT = 4
PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's own partial-parsing state, in each target folder
# where the code location's `dbt parse` (resources.dbt.ensure_manifest) leaves its state
CODE_LOCATION_TARGET = DBT_PROJECT_DIR / "target"


@dataclass
class DbtInvocation:
    """The outcome of one in-process dbt command."""

    args: list[str]
    success: bool
    result_events: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> str:
        lines = [f"dbt {' '.join(self.args)} failed"]
        if self.error:
            lines.append(self.error)
        lines += self.failures[:20]
        if len(self.failures) > 20:
            lines.append(f"... and {len(self.failures) - 20} more")
        return "\n".join(lines)


def _project_args(target_path: Path) -> list[str]:
    return [
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path),
    ]


def _rebuild_manifest(data: dict[str, Any]) -> Manifest:
    return Manifest(**data)


class _ManifestPickler(pickle.Pickler):
    """Pickles a Manifest by its public fields, rebuilt through its constructor (fresh lock, lookups rebuilt
    on first use). dbt's own `Manifest.__reduce_ex__` passes its fields by position and misses one in dbt 1.11,
    which shifts every lookup into the wrong field ("RefableLookup.find() missing ... 'manifest'")."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is Manifest:
            data = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if not f.name.startswith("_")}
            return _rebuild_manifest, (data,)
        return NotImplemented


def parse_key() -> tuple[Any, ...]:
    """What a parsed manifest depends on: dbt's version, every project file (path, size, mtime: an edit, a new or
    a deleted file all change it) and the values of the environment variables the project reads."""
    paths = project_files()
    files = tuple(
        (str(path.relative_to(DBT_PROJECT_DIR)), stat.st_size, stat.st_mtime_ns)
        for path, stat in ((p, p.stat()) for p in paths)
    )
    names = sorted(
        {name for p in paths if p.suffix in (".sql", ".yml", ".yaml") for name in _ENV_VAR.findall(p.read_text())}
    )
    return (dbt_version, files, tuple((name, os.environ.get(name)) for name in names))


def parsed_manifest(target_path: Path) -> Manifest:
    """The project's manifest: from this process's memory, else from the pickle the last parse left in
    `target_path` (~0.02 s, where dbt's own partial parse takes ~1.1 s), else parsed and pickled."""
    key = (str(target_path), parse_key())
    if key in _parsed:
        return _parsed[key]
    digest = hashlib.sha256(repr(key).encode()).hexdigest()
    # one pickle per parse key: lakes with different settings (a test's, the default) each keep theirs, where a
    # single file made every switch between them parse again (~1 s idle, ~20 s on a loaded machine)
    cache = target_path / f"{MANIFEST_PICKLE}.{digest[:16]}.pickle"
    manifest = None
    if cache.exists():
        with contextlib.suppress(Exception):  # a stale or unreadable cache is only a reason to parse
            saved_digest, saved = pickle.loads(cache.read_bytes())
            manifest = saved if saved_digest == digest else None
    if manifest is None:
        _seed_partial_parse(target_path)
        result = dbtRunner().invoke(["parse", "--quiet", *_project_args(target_path)])
        if not result.success:
            raise RuntimeError(f"dbt parse failed: {result.exception}")
        manifest = result.result
        target_path.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as out:
            _ManifestPickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump((digest, manifest))
        partial.replace(cache)
        _keep_newest_pickles(target_path)
    _parsed.clear()
    _parsed[key] = manifest
    return manifest


def _seed_partial_parse(target_path: Path) -> None:
    """A target folder dbt never parsed into starts from the code location's partial-parsing state.

    On a fresh clone the code location's `dbt parse` has just parsed the project into dbt_project/target, and the
    marts build then parsed it all again into its own target (~3.5 CPU s). dbt checks the state it is given
    against its version, the profile, the project's files and the environment variables they read, and parses
    again only what differs, or everything when the state does not fit: with the state of the same settings the
    parse costs ~1.1 CPU s. A folder with a state of its own keeps it (it fits that folder's last environment)."""
    own, seed = target_path / PARTIAL_PARSE, CODE_LOCATION_TARGET / PARTIAL_PARSE
    if own.exists() or not seed.is_file() or target_path.resolve() == CODE_LOCATION_TARGET.resolve():
        return
    with contextlib.suppress(OSError):  # best effort: without it dbt parses the whole project, as before
        target_path.mkdir(parents=True, exist_ok=True)
        partial = own.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(seed, partial)
        partial.replace(own)


def _keep_newest_pickles(target_path: Path) -> None:
    """Parsed manifests of the last few parse keys; older ones go (each is ~1 MB). Best effort: another process
    may be tidying the same folder."""
    with contextlib.suppress(OSError):
        pickles = sorted(
            target_path.glob(f"{MANIFEST_PICKLE}.*.pickle"), key=lambda path: path.stat().st_mtime, reverse=True
        )
        for old in pickles[PICKLES_KEPT:]:
            old.unlink(missing_ok=True)


def release_database() -> None:
    """Close dbt-duckdb's process-wide database handle: an open handle would stop this process (the gold
    publisher) and every other one (`nexus sql`, the next build) from opening the warehouse file."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if environment is not None:
        environment.close()


def invoke(args: Sequence[str], target_path: Path) -> DbtInvocation:
    """Run one dbt command (e.g. `build --select ...`) with the cached manifest; never raises on dbt failures."""
    events: list[dict[str, Any]] = []

    def keep_results(msg: EventMsg) -> None:
        if msg.info.name in RESULT_EVENTS:
            events.append(msg_to_dict(msg))

    runner = dbtRunner(manifest=parsed_manifest(target_path), callbacks=[keep_results])
    try:
        result = runner.invoke([*args, *_project_args(target_path)])
    finally:
        release_database()
    failures = [
        f"{r.node.unique_id}: {r.status} - {r.message}"
        for r in getattr(result.result, "results", None) or []
        if str(r.status) in FAILED_STATUSES
    ]
    error = None if result.exception is None else f"{type(result.exception).__name__}: {result.exception}"
    return DbtInvocation(list(args), bool(result.success), events, failures, error)


# ---------------------------------------------------------------------------------------------------------------
# Dagster's side: the same selection, events and failure as `DbtCliResource.cli(...).stream()`.


def dagster_events(
    context: AssetExecutionContext,
    result: DbtInvocation,
    manifest: Mapping[str, Any],
    translator: DagsterDbtTranslator,
    target_path: Path,
) -> Iterator[Any]:
    """dagster-dbt's own conversion of dbt's result records: outputs for models, check results for tests."""
    for raw in result.result_events:
        event = DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})
        yield from event.to_default_asset_events(
            manifest=manifest, dagster_dbt_translator=translator, context=context, target_path=target_path
        )


def manifest_and_translator(models: AssetsDefinition) -> tuple[Mapping[str, Any], DagsterDbtTranslator]:
    """The parsed manifest and translator a `@dbt_assets` definition was built with."""
    manifest, translator, _ = get_manifest_and_translator_from_dbt_assets([models])
    return manifest, translator


def build_in_process(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    args: Sequence[str],
    translator: DagsterDbtTranslator,
    target_path: Path,
) -> Iterator[Any]:
    """Run `dbt <args>` for the assets selected in Dagster inside this process and yield dagster-dbt's events.

    Same selection, same events and the same failure as `dbt.cli(args, context=context).stream()`, without the
    ~4.5 s a dbt process costs before its first model. The one case dagster-dbt handles by copying the project to a
    temporary folder (a subset too large for --select) goes to the CLI.
    """
    cleaned, selects, excludes = extract_runtime_selection_from_args(args)
    params = get_updated_cli_invocation_params_for_context(
        context=context,
        manifest={},
        dagster_dbt_translator=translator,
        runtime_selects=selects,
        runtime_excludes=excludes,
    )
    if params.dbt_project is not None and Path(params.dbt_project.project_dir).resolve() != DBT_PROJECT_DIR.resolve():
        yield from dbt.cli(list(args), context=context, target_path=target_path).stream()
        return
    # dbt's default ("eager") also runs a test when only one of its models is selected: an automation run of one
    # intermediate model then ran a point-in-time test against a mart not built yet, and failed. "buildable" runs
    # the tests whose every model is selected or upstream of the selection (all of them in a full build).
    indirect = ["--indirect-selection", params.indirect_selection or "buildable"]
    started = time.perf_counter()
    result = invoke([*cleaned, *indirect, *params.selection_args], target_path)
    context.log.info(
        f"dbt {' '.join(result.args)}: {len(result.result_events)} nodes in {time.perf_counter() - started:.1f} s"
    )
    yield from dagster_events(context, result, params.manifest, params.dagster_dbt_translator, target_path)
    if not result.success:
        raise Failure(description=result.summary())
