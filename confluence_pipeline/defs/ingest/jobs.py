"""Jobs over the ingest assets: one run syncs one space end to end."""

from dagster import define_asset_job

from confluence_pipeline.defs.ingest.assets import ingest_assets

# In process by default. The ingest assets form a chain, so the multiprocess executor could never run two of them at
# once, and it starts a process per step: each imports the code location (about 5 s here), which made a sensor's
# run for one edited page take a minute. In process, a run starts one process; a backfill stays parallel through
# concurrent runs (dagster.yaml: max_concurrent_runs), and each run's conversion, chunking and local embedding use
# a pool of worker processes. A run can still ask for ``{"execution": {"config": {"multiprocess": {}}}}``.
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}

ingest_job = define_asset_job(
    "confluence_ingest",
    selection=ingest_assets,
    description="Sync one space end to end: space, changed pages, Markdown, chunks, embeddings.",
    config=IN_PROCESS,
)
