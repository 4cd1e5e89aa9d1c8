"""The ingest job runs in one process: its assets form a chain, and a process per step costs seconds."""

from __future__ import annotations

from dagster import in_process_executor

from confluence_pipeline.definitions import defs


def test_ingest_runs_use_the_in_process_executor() -> None:
    job = defs.resolve_job_def("confluence_ingest")
    assert job.executor_def is in_process_executor
