"""The benchmark's CPU accounting: the whole machine's busy time and the database server's, ended processes included."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import psycopg
import pytest
from psycopg import sql

from benchmarks import harness
from benchmarks.harness import PeakMemory, machine_busy_seconds, server_cpu_seconds
from benchmarks.statements import statement_cpu


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


def test_statement_cpu_charges_each_statement_its_backends_time_and_unwraps_after(db_url: str) -> None:
    execute, copy = psycopg.Cursor.execute, psycopg.Cursor.copy
    with statement_cpu() as record, psycopg.connect(db_url) as conn:
        conn.execute("SELECT count(*) FROM generate_series(1, 3000000) AS g(i) WHERE i % 7 = 0").fetchone()
        conn.execute(sql.SQL("SELECT {}").format(sql.Literal(1))).fetchone()
        with conn.cursor().copy("COPY (SELECT 1) TO STDOUT") as out:
            list(out)
    heavy = "SELECT count(*) FROM generate_series(1, 3000000) AS g(i) WHERE i % 7 = 0"
    assert record.calls[heavy] == 1
    assert record.cpu[heavy] >= 0.1
    assert record.calls["SELECT 1"] == 1
    assert record.calls["COPY (SELECT 1) TO STDOUT"] == 1
    assert heavy in record.report(top=1)
    assert (psycopg.Cursor.execute, psycopg.Cursor.copy) == (execute, copy)


def test_peak_memory_counts_a_child_started_inside_the_block() -> None:
    allocate = "import time; block = bytearray(200 * 2**20); time.sleep(1.5)"
    with PeakMemory() as memory:
        own = psutil.Process().memory_info().rss
        subprocess.run([sys.executable, "-c", allocate], check=True)
    # The child's 200 MB count although the tree is looked up only every half second.
    assert memory.peak - own >= 150 * 2**20
