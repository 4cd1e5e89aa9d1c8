"""The code location: every definition under ``defs/``, bound to the project's resources.

``dg.load_from_defs_folder`` reads ``[tool.dg]`` in pyproject.toml and collects the assets, checks, jobs, sensors and
schedules of every module under ``confluence_pipeline/defs/``, so a new domain folder needs no wiring here. The same
object is what ``dagster dev -w workspace.yaml``, ``dg dev`` and the CLI load.
"""

from pathlib import Path

import dagster as dg

from confluence_pipeline.defs.resources import build_resources

defs = dg.Definitions.merge(
    dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
    dg.Definitions(resources=build_resources()),
)
