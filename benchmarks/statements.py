"""The database server's CPU per SQL statement of this process, read from each backend's own process.

``profile_sync --statements`` wraps psycopg's ``Cursor.execute``, ``executemany`` and ``copy`` in this process for the
length of a block, and charges each call the CPU its connection's backend used meanwhile (``/proc``, through psutil).
That is the server's side of each statement, which a Python profiler does not see. PostgreSQL's own
``pg_stat_statements`` would give the same without wrapping, but the embedded server does not ship it.

Only the backend is read: a parallel worker's time (an HNSW build's, say) and autovacuum's are not charged to the
statement (the stage table of ``profile_sync`` counts the whole server). The server must run on this machine, as
:func:`~benchmarks.harness.server_cpu_seconds` requires.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psutil
import psycopg
from psycopg import sql

# Statements are grouped by their first characters, whitespace folded: enough to tell them apart.
_KEY_CHARS = 100


@dataclass
class StatementCPU:
    """CPU seconds of the server's backend and wall seconds, per statement, with the number of calls."""

    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    wall: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    _backends: dict[int, psutil.Process] = field(default_factory=dict)

    def backend_seconds(self, conn: psycopg.Connection) -> float:
        """CPU seconds the connection's backend has used so far (0 when it cannot be read)."""
        pid = conn.info.backend_pid
        proc = self._backends.get(pid)
        try:
            if proc is None:
                proc = self._backends[pid] = psutil.Process(pid)
            times = proc.cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system

    def add(self, statement: Any, cpu: float, wall: float) -> None:
        """Charge one call of ``statement`` (a connection that broke during the call reads as 0 afterwards)."""
        key = _key(statement)
        self.calls[key] += 1
        self.cpu[key] += max(0.0, cpu)
        self.wall[key] += wall

    def report(self, top: int) -> str:
        """The ``top`` statements by backend CPU, one line each."""
        total = sum(self.cpu.values())
        lines = [f"statements by the server backend's CPU ({total:.1f} s in all; parallel workers not included):"]
        lines.append(f"{'cpu':>8}{'wall':>8}{'calls':>7}  statement")
        for key in sorted(self.cpu, key=lambda k: -self.cpu[k])[:top]:
            lines.append(f"{self.cpu[key]:>7.2f}s{self.wall[key]:>7.2f}s{self.calls[key]:>7}  {key}")
        return "\n".join(lines)


def _key(statement: Any) -> str:
    if isinstance(statement, bytes):
        text = statement.decode(errors="replace")
    elif isinstance(statement, sql.Composable):
        text = statement.as_string(None)
    else:
        text = str(statement)
    return re.sub(r"\s+", " ", text).strip()[:_KEY_CHARS]


@contextmanager
def statement_cpu() -> Iterator[StatementCPU]:
    """Within the block, record the backend CPU of every statement this process sends through psycopg."""
    record = StatementCPU()
    cursor = psycopg.Cursor
    originals: dict[str, Callable[..., Any]] = {name: getattr(cursor, name) for name in ("execute", "executemany")}
    original_copy = cursor.copy

    def timed(name: str) -> Callable[..., Any]:
        original = originals[name]

        def call(self: psycopg.Cursor, query: Any, *args: Any, **kwargs: Any) -> Any:
            before, started = record.backend_seconds(self.connection), time.perf_counter()
            try:
                return original(self, query, *args, **kwargs)
            finally:
                record.add(query, record.backend_seconds(self.connection) - before, time.perf_counter() - started)

        return call

    @contextmanager
    def copy(self: psycopg.Cursor, statement: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        before, started = record.backend_seconds(self.connection), time.perf_counter()
        try:
            with original_copy(self, statement, *args, **kwargs) as inner:
                yield inner
        finally:
            record.add(statement, record.backend_seconds(self.connection) - before, time.perf_counter() - started)

    try:
        for name in originals:
            setattr(cursor, name, timed(name))
        cursor.copy = copy  # type: ignore[method-assign]
        yield record
    finally:
        for name, original in originals.items():
            setattr(cursor, name, original)
        cursor.copy = original_copy  # type: ignore[method-assign]
