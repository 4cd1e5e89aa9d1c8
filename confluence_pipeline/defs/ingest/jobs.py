"""Jobs over the ingest assets: one run syncs one space end to end."""

from dagster import define_asset_job, in_process_executor

from confluence_pipeline.defs.ingest.assets import ingest_assets
from confluence_pipeline.defs.maintenance.assets import RECONCILE_SCOPE_TAG, confluence_reconciliation

INGEST_JOB_NAME = "confluence_ingest"

ingest_job = define_asset_job(
    INGEST_JOB_NAME,
    # The reconciliation step at the end does its work only for spaces whose strategy is every_sync (the tag).
    selection=[*ingest_assets, confluence_reconciliation],
    tags={RECONCILE_SCOPE_TAG: "every_sync"},
    # The steps run one after another anyway, and each stage spreads its own work over PIPELINE_WORKERS processes;
    # a process per step would only add an import of Dagster and the product to every step of every run.
    executor_def=in_process_executor,
    description=(
        "Sync one space end to end: space, changed pages, Markdown, chunks, embeddings, and their checks; spaces "
        "reconciled every_sync are reconciled at the end. Run config `ops: {confluence_pages: {config: {full: "
        "true}}}` re-syncs the space in full, ignoring its watermark."
    ),
)
