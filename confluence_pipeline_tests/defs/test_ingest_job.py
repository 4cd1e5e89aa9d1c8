"""The ingest job runs in one process by default: its assets form a chain, and a process per step costs seconds."""

from __future__ import annotations

from confluence_pipeline.definitions import defs
from confluence_pipeline.defs.ingest.jobs import IN_PROCESS


def test_ingest_runs_default_to_the_in_process_executor() -> None:
    job = defs.resolve_job_def("confluence_ingest")
    assert job.executor_def.name == "multi_or_in_process_executor"  # a run can still ask for multiprocess
    assert job.partitioned_config is not None
    assert job.partitioned_config.get_run_config_for_partition_key("ENG")["execution"] == IN_PROCESS["execution"]
