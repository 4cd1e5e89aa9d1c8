"""Jobs of the maintenance domain: one run reconciles one space."""

from dagster import define_asset_job, in_process_executor

from confluence_pipeline.defs.maintenance.assets import confluence_reconciliation

RECONCILE_JOB_NAME = "confluence_reconcile"

reconcile_job = define_asset_job(
    RECONCILE_JOB_NAME,
    selection=[confluence_reconciliation],
    executor_def=in_process_executor,
    description=(
        "Reconcile one space: list every current page id and retire the stored pages that are gone. Run config "
        "`force: true` lets a run delete beyond the safety share."
    ),
)
