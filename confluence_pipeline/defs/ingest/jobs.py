"""Jobs over the ingest assets: one run syncs one space end to end."""

from dagster import define_asset_job

from confluence_pipeline.defs.ingest.assets import ingest_assets

ingest_job = define_asset_job(
    "confluence_ingest",
    selection=ingest_assets,
    description="Sync one space end to end: space, changed pages, Markdown, chunks, embeddings.",
)
