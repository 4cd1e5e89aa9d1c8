"""What the throughput benchmarks share: the sandbox in a process of its own, its admin API, peak memory, workers.

The sandbox runs in its own process so that its memory and its Python time are not the pipeline's; the pipeline
runs in worker processes that print one JSON line, so that each figure starts from a cold process, as users see it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

SANDBOX_EMAIL = "sandbox@example.com"
SANDBOX_TOKEN = "sandbox-token"


class PeakMemory:
    """Samples the resident memory of this process tree every 50 ms and keeps the peak.

    Finding the tree's processes reads every process of the machine (``/proc``), about 1-2 ms at a hundred processes:
    done every 50 ms, it took 1-2 core-s of a 40 s sync, on the cores being measured. The tree is therefore looked up
    every 0.5 s (:data:`_TREE_EVERY` samples), and in between only its known processes' memory is read. A process that
    starts and ends between two lookups is missed; the pipeline's processes (runs, worker pools) live for seconds.
    """

    _TREE_EVERY = 10

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        tree = [me]
        samples = 0
        while not self._stop.is_set():
            if samples % self._TREE_EVERY == 0:
                try:
                    tree = [me, *me.children(recursive=True)]
                except psutil.Error:
                    tree = [me]
            samples += 1
            total = 0
            for proc in tree:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)
            self._stop.wait(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        """The peak in MB, rounded to a tenth."""
        return round(self.peak / 2**20, 1)


@dataclass
class Sandbox:
    """A sandbox server process and its URLs."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def base_url(self) -> str:
        """``CONFLUENCE_BASE_URL`` of the sandbox (Cloud flavour, under ``/wiki``)."""
        return f"http://127.0.0.1:{self.port}/wiki"

    @property
    def admin_url(self) -> str:
        """Root of the admin API."""
        return f"http://127.0.0.1:{self.port}/_sandbox"

    def admin(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        """Call the admin API: GET without a payload, POST with one."""
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.admin_url + path, data=data, method="POST" if data is not None else "GET")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")

    def requests(self) -> int:
        """Confluence REST requests served since the last :meth:`reset_stats`."""
        return int(self.admin("/stats")["total"])

    def reset_stats(self) -> None:
        """Start counting requests from zero."""
        self.admin("/stats/reset", {})

    def cpu_seconds(self) -> float:
        """CPU time the sandbox process used so far (it shares the machine with the pipeline)."""
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        """Stop the process."""
        self.process.terminate()
        self.process.wait(timeout=30)


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot, over all cores (idle, I/O wait and steal left out).

    The difference over a run is what the run cost in CPU, whichever process spent it: the pipeline, its workers,
    Dagster's run processes, PostgreSQL and the sandbox. Anything else running on the machine counts too.
    """
    times = psutil.cpu_times()
    # Linux counts guest time inside user time already, and steal is time the hypervisor gave to someone else.
    return sum(getattr(times, field, 0.0) for field in ("user", "nice", "system", "irq", "softirq"))


def server_cpu_seconds(db_url: str) -> float | None:
    """CPU seconds the PostgreSQL server of ``db_url`` has used so far: the postmaster and every process it started.

    Processes that ended (backends of closed connections, parallel workers, autovacuum) count through the
    postmaster's reaped-children times.

    Returns:
        The seconds, or None when the server's processes cannot be read here: it runs on another host or in a
        container (the process ids it reports are not this machine's), or under a user whose processes are hidden.
    """
    with psycopg.connect(db_url) as conn:
        pid = conn.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'").fetchone()[0]
    try:
        checkpointer = psutil.Process(pid)
        if "checkpointer" not in " ".join(checkpointer.cmdline()):
            return None
        postmaster = checkpointer.parent()
    except psutil.Error:
        return None
    if postmaster is None:
        return None
    total = 0.0
    for proc in [postmaster, *postmaster.children()]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            continue
    return total


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sandbox(pages: int, seed: int, *, profile: str = "real", rate_limit_rps: float | None = None) -> Sandbox:
    """Start ``python -m confluence_sandbox serve`` and wait until it answers.

    The Play space is left out: the corpus is the generated spaces alone.

    Args:
        pages: pages of the generated corpus.
        seed: corpus seed.
        profile: ``real`` (real-size bodies) or ``synthetic``.
        rate_limit_rps: the server's rate limit (429 with ``Retry-After`` above it); None for none.
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "confluence_sandbox", "serve", "--port", str(port), "--pages", str(pages),
         "--seed", str(seed), "--profile", profile, "--no-plays", "--email", SANDBOX_EMAIL, "--token",
         SANDBOX_TOKEN],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    sandbox = Sandbox(process, port)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            sandbox.admin("/stats")
            break
        except OSError:
            if process.poll() is not None:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"sandbox exited: {stderr[-2000:]}") from None
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("sandbox did not start within 120 s")
    if rate_limit_rps:
        sandbox.admin("/faults", {"rate_limit_rps": rate_limit_rps})
    return sandbox


def sandbox_env(base: Mapping[str, str], sandbox: Sandbox, **extra: str) -> dict[str, str]:
    """``base`` without any Confluence, OpenAI or embedding settings, pointed at the sandbox (Cloud flavour)."""
    env = {k: v for k, v in base.items() if not k.startswith(("CONFLUENCE_", "OPENAI_", "EMBEDDING_"))}
    env.update(
        {
            "CONFLUENCE_BASE_URL": sandbox.base_url,
            "CONFLUENCE_DEPLOYMENT": "cloud",
            "CONFLUENCE_EMAIL": SANDBOX_EMAIL,
            "CONFLUENCE_API_TOKEN": SANDBOX_TOKEN,
            **extra,
        }
    )
    return env


def run_worker(module: str, args: Sequence[str], env: Mapping[str, str]) -> dict[str, Any]:
    """Run ``python -m module worker ARGS`` and return the JSON object on the last line of its output."""
    proc = subprocess.run(
        [sys.executable, "-m", module, "worker", *args], env=dict(env), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker {module} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def with_database(url: str, name: str) -> str:
    """``url`` pointed at database ``name``, in the same form (a URL stays a URL, which dagster-postgres needs)."""
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path="/" + name))
    return make_conninfo(**{**conninfo_to_dict(url), "dbname": name})


@contextmanager
def fresh_database(server_url: str, prefix: str = "bench_search", *, keep: bool = False) -> Iterator[str]:
    """Create and migrate an empty database on the server of ``server_url``; yield its URL; drop it afterwards.

    Args:
        server_url: any database URL on the server to use.
        prefix: start of the new database's name.
        keep: leave the database in place (its URL is printed) to look at it afterwards.
    """
    from confluence_pipeline.store.migrate import apply_migrations

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = with_database(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    try:
        apply_migrations(url)
        yield url
    finally:
        if keep:
            print(f"kept the database: {url}")
        else:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
