"""What the commands share: the local stack, space registration, runs through the Dagster instance."""

from __future__ import annotations

import multiprocessing.forkserver
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import psutil

from confluence_pipeline import localstack
from confluence_pipeline.lib.parallel import forkserver_context

if TYPE_CHECKING:
    from dagster import DagsterInstance

    from confluence_pipeline.confluence.client import ConfluenceClient
    from confluence_pipeline.convert.resolve import ReferenceResolver, ResolveLimits
    from confluence_pipeline.defs.resources import ConfiguredResources
    from confluence_pipeline.embed.base import EmbeddingProvider
    from confluence_pipeline.embed.factory import EmbeddingSettings

WORKSPACE = str(localstack.PROJECT_ROOT / "workspace.yaml")


def tool(name: str) -> str:
    """The path of a console script installed beside this Python (the venv's ``dagster``), else the bare name."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.exists(candidate) else name


def resources() -> ConfiguredResources:
    """The code location's resources, bound to this process's environment and resolved: what a run would use."""
    from confluence_pipeline.defs.resources import configured_resources

    return configured_resources(os.environ)


def local_database() -> localstack.DatabaseUrls:
    """The pipeline's database: ``DATABASE_URL``, else the embedded server (started when needed)."""
    configured = resources()
    return localstack.ensure_database(configured.postgres.url or None, configured.local_stack.settings())


def prepare(*, sandbox: bool = False, pages: int | None = None, seed: int | None = None, flavor: str = "cloud") -> Any:
    """Start what the local stack needs (embedded Postgres, optionally the sandbox), migrate, set DAGSTER_HOME.

    Args:
        sandbox: start the local Confluence sandbox when no ``CONFLUENCE_BASE_URL`` is configured.
        pages: the sandbox's generated pages; default ``SANDBOX_PAGES``.
        seed: the sandbox's corpus seed; default ``SANDBOX_SEED``.
        flavor: ``cloud`` or ``dc``.

    Returns:
        The running sandbox server, or None.
    """
    from confluence_pipeline.store.migrate import apply_migrations

    configured = resources()
    stack = configured.local_stack.settings()
    urls = localstack.ensure_database(configured.postgres.url or None, stack)
    localstack.ensure_dagster_home(stack)
    apply_migrations(urls.app)
    server = None
    if not configured.confluence.settings().base_url:
        if sandbox:
            pages = stack.sandbox_pages if pages is None else pages
            seed = stack.sandbox_seed if seed is None else seed
            server = localstack.start_sandbox(pages=pages, seed=seed, port=stack.sandbox_port, flavor=flavor)
            print(f"local Confluence sandbox: {server.base_url} ({flavor}, {pages} generated pages, seed {seed})")
        elif (state := localstack.read_sandbox_state(stack.home)) is not None:
            # Beside `make dev`: use the sandbox it runs, as its daemon's runs do.
            localstack.use_sandbox(state)
    return server


def confluence_client() -> ConfluenceClient:
    """A client for the configured Confluence (or the sandbox of a running ``dev``), or a clear error.

    Raises:
        ValueError: no Confluence is configured and no ``dev`` sandbox runs; the message says what to set.
    """
    configured = resources()
    if not configured.confluence.settings().base_url:
        state_file = localstack.sandbox_state_path(configured.local_stack.settings().home)
        raise ValueError(
            "CONFLUENCE_BASE_URL is not set, and no local sandbox from `make dev` is running (`dev` records it in "
            f"{state_file}). Set CONFLUENCE_BASE_URL with CONFLUENCE_EMAIL + CONFLUENCE_API_TOKEN (Cloud) or "
            "CONFLUENCE_PAT (Data Center), or start `make dev` in another terminal first."
        )
    # The pipeline's database, when one is configured or started: the command's requests share the runs' rate limit.
    return configured.confluence.client(configured.postgres.url or None)


def removed_spaces() -> set[str]:
    """Spaces taken out of the pipeline with ``spaces remove``."""
    from confluence_pipeline.store import pages as page_store

    with resources().postgres.connect() as conn:
        return page_store.removed_space_keys(conn)


def register_spaces() -> list[str]:
    """Discover the site's spaces and add the new ones as partitions of the Dagster instance; returns every key."""
    from confluence_pipeline.defs.ingest.partitions import register_new_spaces

    client = confluence_client()
    client.check_access()
    return register_new_spaces(_instance(), client, removed_spaces()).keys


def registered_spaces() -> list[str]:
    """The space partitions of the Dagster instance, sorted."""
    from confluence_pipeline.defs.ingest.partitions import space_partitions

    return sorted(_instance().get_dynamic_partitions(space_partitions.name))


def check_registered(keys: Sequence[str]) -> None:
    """Refuse space keys that are not partitions, naming them and the commands that fix it.

    Raises:
        ValueError: some key is not a registered space.
    """
    known = set(registered_spaces())
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise ValueError(
            f"unknown space {', '.join(unknown)}: not a registered space of this Dagster instance. "
            "`confluence-pipeline spaces list` shows the registered ones; `confluence-pipeline spaces add KEY` adds "
            "one."
        )


_POOL_ATTEMPTS = 3


def ensure_pools() -> None:
    """Make the code location's concurrency pools ready for runs: created, and no slot held by a dead run.

    Dagster creates a pool's row when a step first uses it; on PostgreSQL two runs doing that at the same moment
    collide (a unique violation aborts the transaction) and one run crashes. Created here, in one process, first.
    Runs of this host's commands whose process is gone are failed first (see :func:`fail_runs_of_dead_processes`).
    """
    from confluence_pipeline.definitions import defs

    fail_runs_of_dead_processes()
    instance = _instance()
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits or instance.global_op_concurrency_default_limit is None:
        return
    graph = defs.get_repository_def().asset_graph
    wanted = {pool for node in graph.asset_nodes for pool in node.pools or () if pool}
    for attempt in range(_POOL_ATTEMPTS):
        missing = sorted(wanted - {limit.name for limit in storage.get_pool_limits()})
        try:
            for pool in missing:
                storage.initialize_concurrency_limit_to_default(pool)
            return
        except Exception:  # dagster-postgres raises SQLAlchemy's errors, wrapped or not
            # Two commands started together both found the pool missing, and the other one created it first.
            if attempt == _POOL_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


@dataclass
class JobRun:
    """One run of a job for one space, executed in this process and recorded in the Dagster instance.

    Attributes:
        key: the space.
        run_id: the run.
        success: whether it succeeded.
        materializations: per asset, the metadata of its materialization in the run.
        failures: the failed steps' messages (a ``Failure``'s description, else the error).
    """

    key: str
    run_id: str
    success: bool
    materializations: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def outcome(self) -> dict[str, Any]:
        """``run_id``, ``success``, ``failures`` and each materialized asset's metadata, as the commands report them."""
        return {"run_id": self.run_id, "success": self.success, "failures": self.failures, **self.materializations}


def _instance() -> DagsterInstance:
    """The Dagster instance this process's runs and commands share, its storage keeping pooled connections.

    One per process: building one from ``dagster.yaml`` (storage, run coordinator, pools) takes about 0.4 s, which a
    command paid three times before its first run, and each run once more.
    """
    return _instance_at(os.environ.get("DAGSTER_HOME", ""))


@cache
def _instance_at(dagster_home: str) -> DagsterInstance:
    """One instance per ``DAGSTER_HOME`` (tests switch it within a process)."""
    from dagster import DagsterInstance

    instance = DagsterInstance.get()
    # dagster-postgres opens a new connection for every event it stores (about 170 per run here, 1.3 s): this
    # process runs run after run, so let its storage keep connections, as the webserver's does (no time limit).
    instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=10)
    return instance


def run_job(
    job_name: str,
    key: str,
    *,
    tags: dict[str, str],
    run_config: dict[str, Any] | None = None,
    log_level: str = "INFO",
    pools_ready: bool = False,
) -> JobRun:
    """Execute one of the code location's jobs for a space, checks included, through the Dagster instance.

    The run is recorded under the job's name (not as an ad-hoc asset run), with its asset checks, so the UI shows
    it like a run launched there. The resources are bound from this process's environment at call time.
    ``pools_ready``: the caller ran :func:`ensure_pools` for this run already (the command does, once, before its
    space processes' runs).
    """
    from confluence_pipeline.definitions import defs
    from confluence_pipeline.defs.resources import build_resources

    if not pools_ready:
        ensure_pools()
    config: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": log_level}}}, **(run_config or {})}
    result = defs.resolve_job_def(job_name).execute_in_process(
        run_config=config,
        instance=_instance(),
        partition_key=key,
        tags={**tags, HOST_TAG: socket.gethostname(), PROCESS_TAG: _process_tag(psutil.Process())},
        resources=build_resources(os.environ),
        raise_on_error=False,
    )
    run = JobRun(key=key, run_id=result.run_id, success=result.success)
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        run.materializations[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        user = data.user_failure_data
        message = user.description if user is not None and user.description else None
        run.failures.append(message or (data.error.message.strip() if data.error else "the step failed"))
    return run


class SpaceProcesses:
    """The processes :func:`materialize_spaces` runs spaces in: forks of a fork server, a fresh interpreter.

    Started when a command begins, in the background: while the command prepares the stack and registers the
    spaces, the fork server imports Dagster, its PostgreSQL storage and the code location once (seconds of CPU),
    and each process is a fork of it. With one process (``PIPELINE_SPACE_PROCESSES=1``, one core, or one space)
    none is started and spaces run in the command's own process. Use it as a context manager.
    """

    def __init__(self, spaces: int | None = None) -> None:
        """Start the processes.

        Args:
            spaces: how many spaces the command runs, when it knows already (``--space`` …); None for all.
        """
        if (spaces is None or spaces > 1) and (os.cpu_count() or 1) > 1:
            # The fork server starts importing now, before the settings are read: reading them imports Dagster here
            # first, most of a second on the critical path of the first run. Were the plan then one process, the
            # server would have spent a core's second for nothing (the worker pools fork from it all the same).
            forkserver_context(_SPACE_PROCESS_PRELOAD)
            multiprocessing.forkserver.ensure_running()
        self.size = resources().pipeline.space_plan(spaces if spaces is not None else sys.maxsize)[0]
        self._pool: ProcessPoolExecutor | None = None
        if self.size > 1:
            context = forkserver_context(_SPACE_PROCESS_PRELOAD)
            self._pool = ProcessPoolExecutor(max_workers=self.size, mp_context=context)
            threading.Thread(target=self._start, args=(self._pool,), name="space-processes", daemon=True).start()

    def _start(self, pool: ProcessPoolExecutor) -> None:
        # Each submit while no process is idle starts one more, and waits until the fork server has imported what
        # it preloads: off the command's thread, which meanwhile prepares the stack and registers the spaces.
        with suppress(RuntimeError):  # the command closed the pool first
            for _ in range(self.size):
                pool.submit(_warm_up)

    def __enter__(self) -> SpaceProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the processes (waiting for none of the work they have not started)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _kill_processes(self) -> None:
        # A broken pool stops its other processes with SIGTERM and waits for them; a Dagster run defers SIGTERM
        # until it ends cleanly, which a run cut off from its pool never does, so the wait would last for ever.
        for process in list((getattr(self._pool, "_processes", None) or {}).values()):
            if process.is_alive():
                process.kill()

    def run(self, job_name: str, keys: Sequence[str], **run: Any) -> Iterator[JobRun]:
        """Run the job for each space; yield each run as it ends.

        Side by side in the processes when there are several spaces and processes, else one after another here.
        A process that dies (killed, out of memory) stops the pool: every run not finished yet fails, with a message
        saying how to resume it.

        Args:
            job_name: the job.
            keys: the spaces, in the order to start them.
            **run: ``tags``, ``run_config`` and ``log_level`` of :func:`run_job`.
        """
        if self._pool is None or len(keys) < 2:
            for key in keys:
                yield run_job(job_name, key, **run)
            return
        ensure_pools()  # here, once, before the processes' runs start together
        # At most as many processes as spaces share out the CPU workers (the pool may have been started larger).
        workers = resources().pipeline.space_plan(len(keys))[1]
        environ = dict(os.environ)  # as the command prepared it: the processes started before that
        # The command's runs carry its id, so that the runs of a process that died can be found and failed.
        run = {**run, "tags": {**run.get("tags", {}), COMMAND_TAG: uuid.uuid4().hex}}
        futures = {self._pool.submit(_run_in_process, job_name, key, workers, environ, run): key for key in keys}
        try:
            for future in as_completed(futures):
                key = futures[future]
                try:
                    yield future.result()
                except BrokenProcessPool:
                    self._kill_processes()
                    _fail_orphaned_runs(run["tags"][COMMAND_TAG])
                    yield JobRun(key=key, run_id="", success=False, failures=[_DIED.format(key=key)])
        except BaseException:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            raise


# What a space process needs before its first run: the code location, and the instance's PostgreSQL storage.
_SPACE_PROCESS_PRELOAD = ("confluence_pipeline.definitions", "dagster._core.instance", "dagster_postgres")

COMMAND_TAG = "confluence_pipeline/command"
# The host and the process (pid and start time) a command's run executes in: a run 'started' whose process is gone
# is failed by the next command on that host (see fail_runs_of_dead_processes).
HOST_TAG = "confluence_pipeline/host"
PROCESS_TAG = "confluence_pipeline/process"
_GOING = ("NOT_STARTED", "STARTING", "STARTED")


def _process_tag(process: psutil.Process) -> str:
    # The start time tells a process from a later one that was given the same pid.
    return f"{process.pid}:{process.create_time():.2f}"


def _process_alive(tag: str) -> bool:
    """Whether the process a run's :data:`PROCESS_TAG` names still runs (a malformed tag counts as gone)."""
    pid, _, _ = tag.partition(":")
    try:
        process = psutil.Process(int(pid))
        return _process_tag(process) == tag and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, ValueError):
        return False
    except psutil.AccessDenied:
        return True  # another user's process: alive, and not ours to judge


def _fail_run(instance: DagsterInstance, run: Any, reason: str) -> None:
    """Mark a run whose process is gone as failed, and free the pool slots its steps hold.

    Nothing else would end it: left 'started', it keeps its steps' slots in the ``confluence_api`` and
    ``heavy_db_writes`` pools for ever (only the daemon frees slots, and only of runs that ended), and the next runs
    of those pools wait for them.
    """
    instance.report_run_failed(run, reason)
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)


def _fail_orphaned_runs(command: str) -> None:
    """Fail the command's runs that are still going: a process of the command died, and the others were killed."""
    from dagster import DagsterRunStatus, RunsFilter

    instance = _instance()
    going = [DagsterRunStatus[status] for status in _GOING]
    for record in instance.get_run_records(RunsFilter(tags={COMMAND_TAG: command}, statuses=going)):
        _fail_run(instance, record.dagster_run, "the process running this run ended abruptly")


def fail_runs_of_dead_processes() -> list[str]:
    """Fail the runs of this host's commands that are still going although their process is gone.

    A command killed mid-run (``kill -9``, the OOM killer, a closed laptop lid that never came back) leaves its run
    'started', holding a slot in each pool it was using; two such runs fill a pool of 2, and every later run of
    that pool waits for ever. Only runs this host's commands executed are judged (they carry the host and the
    process): a run of another host, or one the daemon launched, is left alone.

    Returns:
        The ids of the runs failed.
    """
    from dagster import DagsterRunStatus, RunsFilter

    instance = _instance()
    going = [DagsterRunStatus[status] for status in _GOING]
    failed = []
    for record in instance.get_run_records(RunsFilter(tags={HOST_TAG: socket.gethostname()}, statuses=going)):
        run = record.dagster_run
        tag = run.tags.get(PROCESS_TAG, "")
        if not _process_alive(tag):
            pid = tag.partition(":")[0] or "?"
            _fail_run(instance, run, f"the process running this run (pid {pid}) is gone: it was killed or crashed")
            failed.append(run.run_id)
    if failed:
        print(f"marked {len(failed)} run(s) failed whose process is gone, freeing their pool slots", file=sys.stderr)
    return failed


def materialize_spaces(
    keys: Sequence[str],
    *,
    tags: dict[str, str],
    log_level: str = "INFO",
    full: bool = False,
    processes: SpaceProcesses | None = None,
) -> dict[str, dict[str, Any]]:
    """Run the ``confluence_ingest`` job for each space through the Dagster instance (runs show in the UI).

    Spaces run side by side, each in a process of its own (``PIPELINE_SPACE_PROCESSES``, default one per core),
    largest first: one space's fetch, throttled by the Confluence rate limit, overlaps another's conversion,
    chunking and embedding, and the processes share the rate limit through the database. The spaces' large
    embedding loads leave the vector index to one build after the last space (see :func:`_one_vector_index_build`).

    Args:
        keys: the spaces.
        tags: run tags.
        log_level: the console log level of the runs.
        full: a full re-sync, ignoring each space's watermark (run config of ``confluence_pages``).
        processes: processes started earlier (see :class:`SpaceProcesses`); by default started here.

    Returns:
        Per space (in the order of ``keys``), ``run_id``, ``success``, ``failures`` and each materialized asset's
        metadata.
    """
    from confluence_pipeline.defs.ingest.jobs import INGEST_JOB_NAME

    run_config = {"ops": {"confluence_pages": {"config": {"full": True}}}} if full else None
    finished: dict[str, JobRun] = {}
    with _one_vector_index_build(len(keys)), processes or SpaceProcesses(len(keys)) as pool:
        order = _largest_first(keys) if pool.size > 1 and len(keys) > 1 else list(keys)
        for run in pool.run(INGEST_JOB_NAME, order, tags=tags, run_config=run_config, log_level=log_level):
            print(f"  {run.key}: run {run.run_id or '-'} {'succeeded' if run.success else 'failed'}")
            for message in run.failures:
                print(f"    {message}", file=sys.stderr)
            finished[run.key] = run
    return {key: finished[key].outcome() for key in keys}


def _largest_first(keys: Sequence[str]) -> list[str]:
    """The spaces, largest first, so that runs side by side end together rather than the largest starting last.

    A space's size is the store's count of its current pages. A space never synced is asked of Confluence, one
    small search request each: its first sync is the largest run it will ever have. A count that cannot be had
    counts as 0 (the space's run reports what is wrong).
    """
    from confluence_pipeline.confluence.errors import ConfluenceError
    from confluence_pipeline.confluence.sync import count_space_pages
    from confluence_pipeline.store.pages import known_current_count

    with resources().postgres.connect() as conn:
        sizes = {key: known_current_count(conn, key) for key in keys}
    unknown = [key for key in keys if not sizes[key]]
    if unknown:
        try:
            client = confluence_client()
            for key in unknown:
                sizes[key] = count_space_pages(client, key) or 0
        except (ConfluenceError, ValueError):
            pass
    return sorted(keys, key=lambda key: -sizes[key])


def _warm_up() -> None:
    """In a process of :class:`SpaceProcesses`: have the code location imported before the first run.

    A no-op when the fork server preloaded it (it skips a module that fails to import; this raises the error).
    """
    import confluence_pipeline.definitions  # noqa: F401


def _run_in_process(job_name: str, key: str, workers: int, environ: dict[str, str], run: dict[str, Any]) -> JobRun:
    """One space's run, in a process of :class:`SpaceProcesses`, with its share of the CPU workers."""
    os.environ.clear()
    os.environ.update(environ)
    os.environ["PIPELINE_WORKERS"] = str(workers)
    return run_job(job_name, key, **run, pools_ready=True)


_DIED = (
    "space {key} did not finish: a process of this command ended abruptly (killed, or out of memory?), which stops "
    "the runs of the other processes too (they are marked failed in the instance). Run "
    "`confluence-pipeline materialize --space {key}` again: the sync resumes where it stopped."
)


@contextmanager
def store_references() -> Iterator[tuple[ReferenceResolver, ResolveLimits]]:
    """A resolver over the configured database (one consistent snapshot) and the configured limits, for ``convert``.

    The database is ``DATABASE_URL``, else the embedded server (started and migrated when needed).
    """
    from confluence_pipeline.store.db import connect
    from confluence_pipeline.store.migrate import apply_migrations
    from confluence_pipeline.store.references import read_snapshot

    limits = resources().pipeline.settings().resolve
    url = local_database().app
    apply_migrations(url)
    with connect(url, autocommit=True) as conn, read_snapshot(conn) as resolver:
        yield resolver, limits


@contextmanager
def _one_vector_index_build(spaces: int) -> Iterator[None]:
    """Around several spaces' runs, one HNSW build at the end instead of a rebuild per large space.

    Runs one after another would each drop and rebuild the index over everything loaded so far when their own load
    is large (the first sync of a site: every space); see
    :func:`~confluence_pipeline.store.documents.one_index_build`.
    """
    from confluence_pipeline.embed.base import EmbeddingError
    from confluence_pipeline.store import documents as docs

    configured = resources()
    try:
        provider = configured.embeddings.build()
    except EmbeddingError:
        provider = None  # the runs' embedding step reports what to fix
    if spaces < 2 or provider is None:
        yield
        return
    hnsw = configured.pipeline.settings().hnsw
    with configured.postgres.connect() as conn, docs.one_index_build(conn, provider.model, provider.dimensions, hnsw):
        yield


def search_provider(conn: Any, settings: EmbeddingSettings) -> EmbeddingProvider | None:
    """The provider of the model search serves, or None (full-text only) with a note when it cannot be built."""
    from confluence_pipeline.embed.base import EmbeddingError
    from confluence_pipeline.search.query import query_provider

    try:
        return query_provider(conn, settings)
    except EmbeddingError as exc:
        print(f"note: vector search is off ({exc}); showing full-text results only", file=sys.stderr)
        return None


STATUS_COLUMNS = (
    ("space_key", "space"),
    ("pages", "pages"),
    ("pages_with_markdown", "markdown"),
    ("chunks", "chunks"),
    ("chunks_with_embeddings", "embedded"),
    ("failed_pages", "failed"),
    ("watermark", "watermark"),
    ("last_sync_at", "last change"),
    ("last_check_at", "last check"),
)


def last_sync_runs(space_keys: Sequence[str] | None = None) -> dict[str, datetime]:
    """When each space's last sync run finished (its ``confluence_pages`` materialization), from the instance.

    An idle run writes nothing to the pipeline's database, so ``status`` asks the instance: a run that found nothing
    new still counts as a check.

    Args:
        space_keys: the spaces (default: every space partition of the instance).
    """
    from dagster import AssetKey

    from confluence_pipeline.defs.ingest.partitions import space_partitions
    from confluence_pipeline.defs.maintenance.freshness import last_materialized

    instance = _instance()
    keys = instance.get_dynamic_partitions(space_partitions.name) if space_keys is None else space_keys
    return last_materialized(instance, AssetKey("confluence_pages"), keys)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str) and len(value) > 19 and value[10:11] == "T":
        # ISO timestamps to the second, in UTC: the table stays narrow, JSON output keeps the full value.
        try:
            return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        except ValueError:
            return value
    return str(value)


def status_table(rows: Sequence[Any]) -> str:
    """Render per-space status rows as a plain-text table (times in UTC, to the second)."""
    data = [[_cell(getattr(r, attr)) for attr, _ in STATUS_COLUMNS] for r in rows]
    headers = [title for _, title in STATUS_COLUMNS]
    widths = [max(len(h), *(len(row[i]) for row in data)) if data else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in data)
    return "\n".join(lines)
