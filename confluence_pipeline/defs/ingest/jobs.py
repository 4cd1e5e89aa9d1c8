"""Jobs over the ingest assets: one run syncs one space end to end."""

from dagster import define_asset_job

from confluence_pipeline.defs.ingest.assets import ingest_assets
from confluence_pipeline.defs.maintenance.assets import RECONCILE_SCOPE_TAG, confluence_reconciliation

INGEST_JOB_NAME = "confluence_ingest"

ingest_job = define_asset_job(
    INGEST_JOB_NAME,
    # The reconciliation step at the end does its work only for spaces whose strategy is every_sync (the tag).
    selection=[*ingest_assets, confluence_reconciliation],
    tags={RECONCILE_SCOPE_TAG: "every_sync"},
    description=(
        "Sync one space end to end: space, changed pages, Markdown, chunks, embeddings, and their checks; spaces "
        "reconciled every_sync are reconciled at the end. Run config `ops: {confluence_pages: {config: {full: "
        "true}}}` re-syncs the space in full, ignoring its watermark."
    ),
)
