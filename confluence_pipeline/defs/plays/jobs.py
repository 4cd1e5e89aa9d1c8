"""The Play QTD aggregation job: the figures, then their write into the Play DB page, in one run."""

from dagster import define_asset_job

from confluence_pipeline.defs.plays.assets import play_assets

play_aggregation_job = define_asset_job(
    "play_qtd_aggregation",
    selection=play_assets,
    description="Aggregate the stored Action Log into play_qtd_stats and write the figures into the Play DB page "
    "(run config play_db_page.config.dry_run: plan only). Runs after each weekly tick's reconciliation runs.",
)
