"""The code location: project-wide wiring only."""

from dagster import Definitions

from confluence_pipeline.defs.ingest.assets import ingest_assets
from confluence_pipeline.defs.ingest.checks import ingest_checks
from confluence_pipeline.defs.ingest.sensors import confluence_change_sensor, confluence_space_sensor, ingest_job
from confluence_pipeline.defs.resources import build_resources

defs = Definitions(
    assets=ingest_assets,
    asset_checks=ingest_checks,
    jobs=[ingest_job],
    sensors=[confluence_space_sensor, confluence_change_sensor],
    resources=build_resources(),
)
