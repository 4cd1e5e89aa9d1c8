"""The benchmark's CPU accounting: the whole machine's busy time and the database server's, ended processes included."""

from __future__ import annotations

import os
import time

import psutil
import psycopg
import pytest

from benchmarks import harness
from benchmarks.harness import machine_busy_seconds, server_cpu_seconds


def test_machine_busy_time_includes_this_process_work() -> None:
    before_machine, before_own = machine_busy_seconds(), time.process_time()
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        sum(range(1000))
    own = time.process_time() - before_own
    # Every core's busy time counts, so the machine spent at least what this process did (less a tick of rounding).
    assert machine_busy_seconds() - before_machine >= own - 0.05


def test_server_time_counts_a_backend_that_has_ended(db_url: str) -> None:
    before = server_cpu_seconds(db_url)
    with psycopg.connect(db_url) as conn:
        pid = conn.info.backend_pid
        conn.execute("SELECT count(*) FROM generate_series(1, 3000000) AS g(i) WHERE i % 7 = 0").fetchone()
    # Once its connection is closed the backend exits; its time then counts through the postmaster's reaped children.
    with psycopg.connect(db_url) as watcher:
        for _ in range(100):
            if watcher.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() is None:
                break
            time.sleep(0.05)
    assert server_cpu_seconds(db_url) - before >= 0.1


def test_server_time_is_not_read_from_an_unrelated_local_process(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A server in a container or on another host reports process ids of its own; here the id names another process.
    real = psutil.Process
    monkeypatch.setattr(harness.psutil, "Process", lambda pid: real(os.getpid()))
    assert server_cpu_seconds(db_url) is None
